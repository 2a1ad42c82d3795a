// Status: the result of an operation that can fail, as a value. Both Status and Result are [[nodiscard]]: an
// ignored error is a compile warning; ignore one deliberately with (void).
//
// A Status is either OK or carries an error Code and a human-readable message. Codes map one-to-one to the
// API's error codes (`invalid_argument`, `not_found`, ...) and HTTP statuses; that mapping lives here so every
// boundary agrees. Messages must never contain a secret value: callers build them from names only.
// Result<T> holds either a T or a non-OK Status. Both are plain values; const methods are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ironflow {

enum class Code {
  kOk,
  kInvalidArgument,
  kUnauthenticated,
  kPermissionDenied,
  kNotFound,
  kAlreadyExists,
  kConflict,
  kPreconditionFailed,
  kPayloadTooLarge,
  kResourceExhausted,  // 429: too many requests (e.g. failed authentications)
  kUnavailable,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status Unauthenticated(std::string m) { return Status(Code::kUnauthenticated, std::move(m)); }
  static Status PermissionDenied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
  static Status Conflict(std::string m) { return Status(Code::kConflict, std::move(m)); }
  static Status PreconditionFailed(std::string m) { return Status(Code::kPreconditionFailed, std::move(m)); }
  static Status PayloadTooLarge(std::string m) { return Status(Code::kPayloadTooLarge, std::move(m)); }
  static Status ResourceExhausted(std::string m) { return Status(Code::kResourceExhausted, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool is(Code c) const { return code_ == c; }

  // The API error code string, e.g. "not_found".
  std::string_view code_name() const;
  // The HTTP status this error maps to (200 for OK).
  int http_status() const;
  // "not_found: secret \"X\" ..." for logs.
  std::string ToString() const;
  // Seconds a client should wait before trying again (sent as Retry-After with 429 and 503); 0: unspecified.
  int retry_after_s() const { return retry_after_s_; }
  Status WithRetryAfter(int seconds) && {
    retry_after_s_ = seconds;
    return std::move(*this);
  }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
  int retry_after_s_ = 0;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(implicit)
  // An error. An OK status here is a bug in the caller: it becomes kInternal, never a Result that is neither a
  // value nor an error.
  Result(Status status)  // NOLINT(implicit)
      : status_(status.ok() ? Status::Internal("internal error: a result was built from an OK status")
                            : std::move(status)) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace ironflow

// Propagates a non-OK Status from an expression returning Status.
#define IF_RETURN_IF_ERROR(expr)     \
  do {                               \
    ::ironflow::Status _st = (expr); \
    if (!_st.ok()) return _st;       \
  } while (0)

// Evaluates `expr` (a Result<T>); on error returns its Status from the enclosing function, else declares or
// assigns `lhs` with the value: IF_ASSIGN_OR_RETURN(auto bucket, KvBucket::Open(nc, name));
#define IF_ASSIGN_OR_RETURN(lhs, expr) IF_ASSIGN_OR_RETURN_IMPL_(IF_STATUS_CONCAT_(_if_result_, __LINE__), lhs, expr)
#define IF_STATUS_CONCAT_INNER_(a, b) a##b
#define IF_STATUS_CONCAT_(a, b) IF_STATUS_CONCAT_INNER_(a, b)
#define IF_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                              \
  if (!result.ok()) return result.status();          \
  lhs = std::move(result).value()
