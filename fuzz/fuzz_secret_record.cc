// Fuzz target: the stored-record decoder (what a tampered or corrupted KV entry reaches first). It must reject
// or accept without crashing, and an accepted record must re-encode and decode to the same fields.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "secrets/secret_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto rec = ironflow::server::DecodeSecretRecord(in);
  if (rec.ok()) {
    auto again = ironflow::server::DecodeSecretRecord(ironflow::server::EncodeSecretRecord(*rec));
    if (!again.ok() || again->name != rec->name || again->environment != rec->environment ||
        again->value.ciphertext != rec->value.ciphertext || again->value.nonce != rec->value.nonce) {
      __builtin_trap();
    }
  }
  return 0;
}
