#include "http/request_framing.h"

namespace ironflow {
namespace {

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

Status CheckRequestFraming(const std::vector<std::string_view>& transfer_encodings,
                           const std::vector<std::string_view>& content_lengths, int http_version) {
  if (!transfer_encodings.empty() && http_version < 11) {
    return Status::InvalidArgument("Transfer-Encoding is not allowed in an HTTP/1.0 request");
  }
  if (!transfer_encodings.empty()) {
    if (transfer_encodings.size() != 1 || !EqualsIgnoreCase(TrimOws(transfer_encodings[0]), "chunked")) {
      return Status::InvalidArgument("unsupported Transfer-Encoding: only chunked is accepted");
    }
    if (!content_lengths.empty()) {
      return Status::InvalidArgument("a request may not carry both Transfer-Encoding and Content-Length");
    }
  }
  if (content_lengths.size() > 1) return Status::InvalidArgument("more than one Content-Length");
  if (content_lengths.size() == 1) {
    std::string_view v = TrimOws(content_lengths[0]);
    if (v.empty() || v.size() > 19) return Status::InvalidArgument("invalid Content-Length");
    for (char c : v) {
      if (c < '0' || c > '9') return Status::InvalidArgument("invalid Content-Length");
    }
  }
  return Status::Ok();
}

}  // namespace ironflow
