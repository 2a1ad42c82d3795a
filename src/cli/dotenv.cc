#include "cli/dotenv.h"

namespace ironflow::server::cli {
namespace {

// Names are taken as written (up to '=' or a blank); the caller validates them, so one bad name can be reported
// and skipped without rejecting the whole file.
bool IsNameChar(char c) { return c != '=' && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#'; }

Status LineError(int line, const std::string& what) {
  return Status::InvalidArgument("line " + std::to_string(line) + ": " + what);
}

}  // namespace

Result<std::vector<DotenvEntry>> ParseDotenv(std::string_view text) {
  std::vector<DotenvEntry> out;
  size_t i = 0;
  int line = 1;
  auto skip_blanks = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  while (i < text.size()) {
    skip_blanks();
    if (i >= text.size()) break;
    if (text[i] == '\n' || text[i] == '\r') {
      if (text[i] == '\n') ++line;
      ++i;
      continue;
    }
    if (text[i] == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    const int start_line = line;
    if (text.substr(i, 7) == "export " || text.substr(i, 7) == "export\t") {
      i += 7;
      skip_blanks();
    }
    size_t name_start = i;
    if (i >= text.size() || !IsNameChar(text[i])) return LineError(start_line, "expected NAME=value");
    while (i < text.size() && IsNameChar(text[i])) ++i;
    DotenvEntry e;
    e.name = std::string(text.substr(name_start, i - name_start));
    e.line = start_line;
    skip_blanks();
    if (i >= text.size() || text[i] != '=') return LineError(start_line, "expected '=' after " + e.name);
    ++i;
    skip_blanks();
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) {
      const char quote = text[i++];
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == quote) {
          closed = true;
          break;
        }
        if (c == '\n') ++line;
        if (quote == '"' && c == '\\' && i < text.size()) {
          char n = text[i++];
          switch (n) {
            case 'n': e.value.push_back('\n'); break;
            case 'r': e.value.push_back('\r'); break;
            case 't': e.value.push_back('\t'); break;
            case '"': e.value.push_back('"'); break;
            case '\\': e.value.push_back('\\'); break;
            default:
              e.value.push_back('\\');
              e.value.push_back(n);
              break;
          }
          continue;
        }
        e.value.push_back(c);
      }
      if (!closed) return LineError(start_line, "the quoted value of " + e.name + " is never closed");
      skip_blanks();
      if (i < text.size() && text[i] == '#') {
        while (i < text.size() && text[i] != '\n') ++i;
      }
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] != '\n')
        return LineError(start_line, "unexpected text after the quoted value of " + e.name);
    } else {
      size_t value_start = i;
      while (i < text.size() && text[i] != '\n' && text[i] != '\r' &&
             !(text[i] == '#' && i > value_start && (text[i - 1] == ' ' || text[i - 1] == '\t'))) {
        ++i;
      }
      std::string_view v = text.substr(value_start, i - value_start);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      e.value = std::string(v);
      while (i < text.size() && text[i] != '\n') ++i;
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace ironflow::server::cli
