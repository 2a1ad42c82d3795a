#include "server/key_sources.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace ironflow {
namespace {

constexpr const char* kKeyVariables[] = {"IRONFLOW_MASTER_KEY", "IRONFLOW_MASTER_KEY_PREVIOUS", "IRONFLOW_SIGNING_KEY"};

std::optional<std::string_view> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string_view(v);
}

// The file's content without surrounding whitespace. Refuses files that group or others may read (a key file is
// for its owner only) unless it is a systemd credential (systemd places those itself, readable by the service).
Result<SecretString> ReadKeyFile(const std::string& path, bool check_mode) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument("cannot read key file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("key file " + path + " is not a regular file");
  if (check_mode && (st.st_mode & 077) != 0) {
    return Status::InvalidArgument("key file " + path + " can be read by group or others; chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read key file " + path + ": " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t begin = 0, end = text.size();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (begin < end && space(text[begin])) ++begin;
  while (end > begin && space(text[end - 1])) --end;
  SecretString out(std::string_view(text).substr(begin, end - begin));
  Cleanse(text);
  return out;
}

// One key from its variable, its file or its systemd credential; at most one of the first two.
Status ReadOne(const char* variable, const std::string& file, const char* file_flag, const char* credential,
               std::optional<SecretString>* out, std::string* source) {
  auto env = Env(variable);
  if (env && !env->empty() && !file.empty()) {
    return Status::InvalidArgument(std::string(variable) + " and " + file_flag + " are both set; use one");
  }
  if (env && !env->empty()) {
    out->emplace(*env);
    if (source) *source = variable;
    return Status::Ok();
  }
  if (!file.empty()) {
    auto k = ReadKeyFile(file, /*check_mode=*/true);
    if (!k.ok()) return k.status();
    out->emplace(std::move(k).value());
    if (source) *source = "file " + file;
    return Status::Ok();
  }
  if (auto dir = Env("CREDENTIALS_DIRECTORY"); dir && !dir->empty()) {
    std::string path = std::string(*dir) + "/" + credential;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      auto k = ReadKeyFile(path, /*check_mode=*/false);
      if (!k.ok()) return k.status();
      out->emplace(std::move(k).value());
      if (source) *source = "systemd credential " + std::string(credential);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ServerKeys> ReadServerKeys(const KeyFileOptions& files) {
  ServerKeys keys;
  IF_RETURN_IF_ERROR(ReadOne("IRONFLOW_MASTER_KEY", files.master_key_file, "--master-key-file", "ironflow-master-key",
                             &keys.master_hex, &keys.master_source));
  IF_RETURN_IF_ERROR(ReadOne("IRONFLOW_MASTER_KEY_PREVIOUS", files.previous_master_key_file,
                             "--master-key-previous-file", "ironflow-master-key-previous", &keys.previous_hex, nullptr));
  if (auto s = Env("IRONFLOW_SIGNING_KEY"); s && !s->empty()) keys.signing_hex.emplace(*s);
  return keys;
}

void ScrubKeyVariables() {
  for (const char* name : kKeyVariables) {
    // getenv points into the environment block itself (the one /proc/<pid>/environ shows) for variables the
    // process started with: overwrite those bytes before dropping the entry.
    if (char* v = std::getenv(name)) {
      volatile char* p = v;
      for (size_t i = 0, n = std::strlen(v); i < n; ++i) p[i] = '\0';
    }
    ::unsetenv(name);
  }
}

}  // namespace ironflow
