// Parsing of dotenv files for `ironflow secret import`: `NAME=value` lines, optional `export ` prefix, `#`
// comments and blank lines, single quotes (literal), double quotes (with \n \r \t \" \\ escapes), and quoted
// values spanning several lines. Unquoted values end at ` #` (an inline comment) and are trimmed. Errors name
// the line number, never the value. Names are not validated here (the importer reports bad ones and skips them).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ironflow::server::cli {

struct DotenvEntry {
  std::string name;
  std::string value;  // the caller wipes it
  int line = 0;
};

Result<std::vector<DotenvEntry>> ParseDotenv(std::string_view text);

}  // namespace ironflow::server::cli
