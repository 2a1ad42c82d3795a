// SecureBytes and SecretString: owners of sensitive bytes (keys, plaintext values) that wipe their memory with
// OPENSSL_cleanse when destroyed or moved from. Copying is explicit (Clone) so plaintext is not duplicated by
// accident. Not thread-safe for concurrent mutation; const access from many threads is fine.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ironflow {

using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// Overwrites the string's bytes with zeros (OPENSSL_cleanse) and clears it.
void Cleanse(std::string& s);
void Cleanse(std::vector<uint8_t>& v);

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t n) : data_(n) {}
  explicit SecureBytes(ByteView v) : data_(v.begin(), v.end()) {}
  ~SecureBytes() { Cleanse(data_); }
  SecureBytes(SecureBytes&& o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
  SecureBytes& operator=(SecureBytes&& o) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;
  SecureBytes Clone() const { return SecureBytes(view()); }

  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  void resize(size_t n);  // wipes the old buffer if it has to reallocate
  ByteView view() const { return {data_.data(), data_.size()}; }
  std::string_view as_string_view() const { return {reinterpret_cast<const char*>(data_.data()), data_.size()}; }

 private:
  std::vector<uint8_t> data_;
};

// A secret value held as text. Moves copy-then-wipe so short (SSO) strings leave no residue behind.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string s) : value_(std::move(s)) {}
  explicit SecretString(std::string_view s) : value_(s) {}
  ~SecretString() { Cleanse(value_); }
  SecretString(SecretString&& o) noexcept : value_(o.value_) { Cleanse(o.value_); }
  SecretString& operator=(SecretString&& o) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;

  std::string_view view() const { return value_; }
  size_t size() const { return value_.size(); }
  bool empty() const { return value_.empty(); }
  void clear() { Cleanse(value_); }                                              // wipes the value now
  SecretString Clone() const { return SecretString(std::string_view(value_)); }  // an explicit copy

 private:
  std::string value_;
};

// Secret name -> value, as a run's attempt receives them: each value is wiped when the map drops it.
using SecretValues = std::map<std::string, SecretString>;

}  // namespace ironflow
