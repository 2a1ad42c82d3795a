#include "common/names.h"

#include <string>
#include <vector>

namespace ironflow::server {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::vector<std::string_view> SplitTokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

Status ValidateEnvironmentName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 63 && IsLowerAlnum(name[0]);
  for (char c : name) ok = ok && (IsLowerAlnum(c) || c == '-');
  if (!ok) {
    return Status::InvalidArgument(
        "invalid environment name: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit");
  }
  return Status::Ok();
}

Status ValidateSecretName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 128 && (IsAlpha(name[0]) || name[0] == '_');
  for (char c : name) ok = ok && (IsAlpha(c) || IsDigit(c) || c == '_' || c == '-');
  if (!ok) {
    return Status::InvalidArgument(
        "invalid secret name: use 1-128 characters of A-Z, a-z, 0-9, '_' and '-', starting with a letter or '_'");
  }
  return Status::Ok();
}

Status ValidateConfigName(std::string_view name) {
  if (!ValidateSecretName(name).ok()) {
    return Status::InvalidArgument(
        "invalid config name: use 1-128 characters of A-Z, a-z, 0-9, '_' and '-', starting with a letter or '_'");
  }
  return Status::Ok();
}

Status ValidateBucketName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 63 && IsLowerAlnum(name[0]);
  for (char c : name) ok = ok && (IsLowerAlnum(c) || c == '-' || c == '_');
  if (!ok) {
    return Status::InvalidArgument(
        "invalid bucket name: use 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit");
  }
  return Status::Ok();
}

namespace {

bool IsKeyChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '-' || c == '_' || c == '='; }

Status CheckKey(std::string_view key, bool pattern) {
  auto bad = [pattern] {
    return Status::InvalidArgument(pattern ? "invalid key pattern: use dot-separated tokens of A-Z, a-z, 0-9, '-', "
                                             "'_' and '=', '*' for one token and a final '>' for the rest"
                                           : "invalid key: use up to 256 characters of A-Z, a-z, 0-9, '-', '_', "
                                             "'=' and '.', with no leading, trailing or double dot");
  };
  if (key.empty() || key.size() > 256) return bad();
  auto tokens = SplitTokens(key);
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    if (t.empty()) return bad();
    if (pattern && t == "*") continue;
    if (pattern && t == ">" && i + 1 == tokens.size()) continue;
    for (char c : t) {
      if (!IsKeyChar(c)) return bad();
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateKvKey(std::string_view key) { return CheckKey(key, false); }
Status ValidateKvKeyPattern(std::string_view pattern) { return CheckKey(pattern, true); }

Status ValidateSubjectPattern(std::string_view pattern) {
  auto bad = [] {
    return Status::InvalidArgument(
        "invalid subject pattern: use dot-separated tokens, '*' for one token and a final '>' for the rest");
  };
  if (pattern.empty() || pattern.size() > 512) return bad();
  auto tokens = SplitTokens(pattern);
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    if (t.empty()) return bad();
    if (t == ">" && i + 1 != tokens.size()) return bad();
    if (t.size() > 1 && (t.find('*') != std::string_view::npos || t.find('>') != std::string_view::npos)) return bad();
    for (char c : t) {
      if (c <= ' ' || c == 0x7f) return bad();
    }
  }
  return Status::Ok();
}

bool SubjectMatches(std::string_view pattern, std::string_view subject) {
  auto p = SplitTokens(pattern);
  auto s = SplitTokens(subject);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return s.size() > i;
    if (i >= s.size()) return false;
    if (p[i] != "*" && p[i] != s[i]) return false;
  }
  return p.size() == s.size();
}

}  // namespace ironflow::server
