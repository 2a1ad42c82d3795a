#include "crypto/secure_bytes.h"

#include <openssl/crypto.h>

namespace ironflow {

void Cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

void Cleanse(std::vector<uint8_t>& v) {
  if (!v.empty()) OPENSSL_cleanse(v.data(), v.size());
  v.clear();
}

SecureBytes& SecureBytes::operator=(SecureBytes&& o) noexcept {
  if (this != &o) {
    Cleanse(data_);
    data_ = std::move(o.data_);
    o.data_.clear();
  }
  return *this;
}

void SecureBytes::resize(size_t n) {
  if (n <= data_.capacity()) {
    if (n < data_.size()) OPENSSL_cleanse(data_.data() + n, data_.size() - n);
    data_.resize(n);
    return;
  }
  std::vector<uint8_t> bigger(n);
  std::copy(data_.begin(), data_.end(), bigger.begin());
  Cleanse(data_);
  data_ = std::move(bigger);
}

SecretString& SecretString::operator=(SecretString&& o) noexcept {
  if (this != &o) {
    Cleanse(value_);
    value_ = o.value_;
    Cleanse(o.value_);
  }
  return *this;
}

}  // namespace ironflow
