// Fuzz target: every validator of user-supplied identifiers, and the subject matcher. Whatever they accept must
// be safe to embed in a NATS subject or KV key: no whitespace, no control bytes, no empty token.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/names.h"

namespace {
void MustBeSubjectSafe(std::string_view s, bool allow_dots) {
  if (s.empty()) __builtin_trap();
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c <= ' ' || c >= 0x7f || c == '*' || c == '>') __builtin_trap();
    if (c == '.' && (!allow_dots || i == 0 || i + 1 == s.size() || s[i - 1] == '.')) __builtin_trap();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (ironflow::server::ValidateSecretName(in).ok()) MustBeSubjectSafe(in, false);
  if (ironflow::server::ValidateEnvironmentName(in).ok()) MustBeSubjectSafe(in, false);
  if (ironflow::server::ValidateConfigName(in).ok()) MustBeSubjectSafe(in, false);
  if (ironflow::server::ValidateBucketName(in).ok()) MustBeSubjectSafe(in, false);
  if (ironflow::server::ValidateKvKey(in).ok()) MustBeSubjectSafe(in, true);
  (void)ironflow::server::ValidateKvKeyPattern(in);
  if (ironflow::server::ValidateSubjectPattern(in).ok()) {
    size_t split = size / 2;
    (void)ironflow::server::SubjectMatches(in.substr(0, split), in.substr(split));
  }
  return 0;
}
