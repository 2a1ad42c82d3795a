// Shared by the examples: connection settings from the environment, like the `ironflow` CLI.
//   IRONFLOW_SERVER_URL   default http://localhost:9123
//   IRONFLOW_API_KEY      default: the server's bootstrap key file (<IRONFLOW_DATA_DIR or .ironflow>/bootstrap_key)
//   IRONFLOW_ENV          default "default"
//   IRONFLOW_SIGNING_KEY  push mode only (`ironflow signing-key show`)
//   IRONFLOW_CA_FILE      CA trusted for an https:// server (default: the system trust store)
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace example {

inline std::string Env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

inline std::string ApiKey() {
  std::string key = Env("IRONFLOW_API_KEY");
  if (!key.empty()) return key;
  std::ifstream in(Env("IRONFLOW_DATA_DIR", ".ironflow") + "/bootstrap_key");
  std::stringstream ss;
  ss << in.rdbuf();
  key = ss.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  return key;
}

inline std::string ServerUrl() { return Env("IRONFLOW_SERVER_URL", "http://localhost:9123"); }
inline std::string Environment() { return Env("IRONFLOW_ENV", "default"); }
inline std::string CaFile() { return Env("IRONFLOW_CA_FILE"); }

}  // namespace example
