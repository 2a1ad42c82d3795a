#include "ironflow/function.h"

#include <openssl/crypto.h>

#include <stdexcept>

namespace ironflow {

namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool IsLowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void WipeString(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

SecretNotDeclared::SecretNotDeclared(std::string_view name, std::string_view function_id,
                                     const std::vector<std::string>& declared)
    : Error("secret \"" + std::string(name) + "\" is not declared by function \"" + std::string(function_id) +
            "\"; declared secrets: " + JoinNames(declared) + " (add it to FunctionConfig::secrets)"),
      name_(name) {}

SecretNotSet::SecretNotSet(std::string_view name, std::string_view function_id)
    : Error("secret \"" + std::string(name) + "\" is declared by function \"" + std::string(function_id) +
            "\" but was not delivered with this run (is it set in the run's environment?)"),
      name_(name) {}

// ---- Secrets

Secrets::Secrets(std::string function_id, std::vector<std::string> declared,
                 std::map<std::string, std::string, std::less<>> values)
    : function_id_(std::move(function_id)), declared_(std::move(declared)), values_(std::move(values)) {
  // Only declared names are ever visible, whatever the caller passed.
  for (auto it = values_.begin(); it != values_.end();) {
    if (!isDeclared(it->first)) {
      WipeString(it->second);
      it = values_.erase(it);
    } else {
      ++it;
    }
  }
}

Secrets::~Secrets() { wipe(); }

Secrets& Secrets::operator=(Secrets&& other) noexcept {
  if (this != &other) {
    wipe();
    function_id_ = std::move(other.function_id_);
    declared_ = std::move(other.declared_);
    values_ = std::move(other.values_);
  }
  return *this;
}

bool Secrets::isDeclared(std::string_view name) const {
  for (const auto& d : declared_) {
    if (d == name) return true;
  }
  return false;
}

std::string_view Secrets::get(std::string_view name) const {
  if (!isDeclared(name)) throw SecretNotDeclared(name, function_id_, declared_);
  auto it = values_.find(name);
  if (it == values_.end()) throw SecretNotSet(name, function_id_);
  return it->second;
}

bool Secrets::has(std::string_view name) const { return isDeclared(name) && values_.find(name) != values_.end(); }

void Secrets::wipe() noexcept {
  for (auto& [name, value] : values_) WipeString(value);
  values_.clear();
}

// ---- Steps

void Steps::checkId(std::string_view id) {
  if (id.empty()) throw std::invalid_argument("step id must not be empty");
  if (id.size() > 256) throw std::invalid_argument("step id must be at most 256 characters");
}

const nlohmann::json* Steps::find(std::string_view id) const {
  for (const auto& s : completed_) {
    if (s.id == id) return &s.output;
  }
  return nullptr;
}

nlohmann::json Steps::record(std::string_view id, nlohmann::json output) {
  ++executed_;
  completed_.push_back({std::string(id), output});
  return output;
}

// ---- createFunction

Function createFunction(FunctionConfig config, Handler handler) {
  const std::string& id = config.id;
  bool id_ok = !id.empty() && id.size() <= 128 && IsLowerOrDigit(id[0]);
  for (char c : id) id_ok = id_ok && (IsLowerOrDigit(c) || c == '_' || c == '-');
  if (!id_ok) {
    throw std::invalid_argument("invalid function id \"" + id +
                                "\": use 1-128 characters of a-z, 0-9, '_' and '-', starting with a letter or digit");
  }
  if (config.triggers.empty()) throw std::invalid_argument("function \"" + id + "\" needs at least one trigger");
  for (const auto& t : config.triggers) {
    if (t.event.empty()) throw std::invalid_argument("function \"" + id + "\" has a trigger with an empty event");
  }
  for (const auto& s : config.secrets) {
    bool ok = !s.empty() && s.size() <= 128 && (IsAlpha(s[0]) || s[0] == '_');
    for (char c : s) ok = ok && (IsAlpha(c) || IsDigit(c) || c == '_' || c == '-');
    if (!ok) {
      throw std::invalid_argument(
          "function \"" + id + "\" declares an invalid secret name \"" + s +
          "\": use 1-128 characters of A-Z, a-z, 0-9, '_' and '-', starting with a letter or '_'");
    }
  }
  if (!handler) throw std::invalid_argument("function \"" + id + "\" needs a handler");
  return Function{std::move(config), std::move(handler)};
}

}  // namespace ironflow
