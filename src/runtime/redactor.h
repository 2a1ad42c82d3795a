// Redaction of secret values from anything a function returned (output, error message, step outputs) before it
// is stored or logged: every occurrence of a resolved value is replaced by `[REDACTED:NAME]`.
//
// Longer values are replaced first, so a value that contains another is masked as a whole; repeated and
// overlapping occurrences are all masked. Values shorter than 4 bytes are not masked (they would shred ordinary
// text and protect nothing). Redaction runs on the JSON text, and a value is also matched in its JSON-escaped form.
#pragma once

#include <string>

#include "crypto/secure_bytes.h"

namespace ironflow::server {

inline constexpr size_t kMinRedactedValueBytes = 4;

// `values`: secret name -> value. The escaped forms it makes of the values are wiped before it returns.
std::string Redact(std::string text, const SecretValues& values);

}  // namespace ironflow::server
