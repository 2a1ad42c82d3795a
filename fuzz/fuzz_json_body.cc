// Fuzz target: strict request-body parsing shared by every JSON route (unknown fields, wrong types, deep nesting,
// invalid UTF-8): it must answer a value or an error, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/api_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto doc = ironflow::server::api::ParseJsonObject(in, {"name", "value", "description", "data", "revision"});
  if (doc.ok()) {
    (void)ironflow::server::api::OptionalString(*doc, "name");
    (void)ironflow::server::api::RequiredString(*doc, "value");
    ironflow::server::api::WipeStrings(*doc);
  }
  return 0;
}
