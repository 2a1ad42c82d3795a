// The exceptions of the Ironflow C++ SDK. Every one derives from ironflow::Error (a std::runtime_error).
// Messages name secrets, functions and runs, never a secret's value.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ironflow {

// Base of every exception the SDK throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ctx.secrets.get(name) for a name the function did not declare in FunctionConfig::secrets. The message lists
// the declared names. A handler that lets it escape fails the attempt as not retryable: the same code would
// throw again on every retry.
class SecretNotDeclared : public Error {
 public:
  SecretNotDeclared(std::string_view name, std::string_view function_id, const std::vector<std::string>& declared);
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// ctx.secrets.get(name) for a declared name that the job did not carry (the server normally fails such an
// attempt before delivering it, when the secret is not set in the environment). Retryable.
class SecretNotSet : public Error {
 public:
  SecretNotSet(std::string_view name, std::string_view function_id);
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Throw it (or a subclass) from a handler to fail the run without further retries.
class NonRetryableError : public Error {
 public:
  using Error::Error;
};

// A request to the Ironflow server failed. http_status() is 0 when the server could not be reached; code() is the
// API error code ("invalid_argument", "unauthenticated", ...) or "unavailable".
class ApiError : public Error {
 public:
  ApiError(int http_status, std::string code, const std::string& message)
      : Error(message), http_status_(http_status), code_(std::move(code)) {}
  int http_status() const { return http_status_; }
  const std::string& code() const { return code_; }

 private:
  int http_status_;
  std::string code_;
};

}  // namespace ironflow
