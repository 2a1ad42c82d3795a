#include "server/key_sources.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace ironflow::server {
namespace {

constexpr const char* kKeyVariables[] = {"IRONFLOW_MASTER_KEY", "IRONFLOW_MASTER_KEY_PREVIOUS", "IRONFLOW_SIGNING_KEY"};
constexpr size_t kMaxKeyFileBytes = 4096;  // a key file holds 64 hex characters and maybe a newline

std::optional<std::string_view> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string_view(v);
}

// The file's content without surrounding whitespace. Refuses files that group or others may read (a key file is
// for its owner only) unless it is a systemd credential (systemd places those itself, readable by the service).
Result<SecretString> ReadKeyFile(const std::string& path, bool check_mode) {
  // One open, then fstat on that descriptor (no window to swap the file between the check and the read), and a
  // read into one fixed buffer (no reallocation leaving copies of the key behind).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::InvalidArgument("cannot read key file " + path + ": " + std::strerror(errno));
  struct stat st {};
  Status problem = Status::Ok();
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problem = Status::InvalidArgument("key file " + path + " is not a regular file");
  } else if (check_mode && (st.st_mode & 077) != 0) {
    problem = Status::InvalidArgument("key file " + path + " can be read by group or others; chmod 600 it");
  }
  std::string text(kMaxKeyFileBytes, '\0');
  size_t used = 0;
  while (problem.ok() && used < text.size()) {
    ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) problem = Status::InvalidArgument("cannot read key file " + path + ": " + std::strerror(errno));
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  if (problem.ok() && used == text.size()) problem = Status::InvalidArgument("key file " + path + " is too large");
  if (!problem.ok()) {
    Cleanse(text);
    return problem;
  }
  size_t begin = 0, end = used;
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
    IF_ASSIGN_OR_RETURN(auto k, ReadKeyFile(file, /*check_mode=*/true));
    out->emplace(std::move(k));
    if (source) *source = "file " + file;
    return Status::Ok();
  }
  if (auto dir = Env("CREDENTIALS_DIRECTORY"); dir && !dir->empty()) {
    std::string path = std::string(*dir) + "/" + credential;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      IF_ASSIGN_OR_RETURN(auto k, ReadKeyFile(path, /*check_mode=*/false));
      out->emplace(std::move(k));
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
                             "--master-key-previous-file", "ironflow-master-key-previous", &keys.previous_hex,
                             nullptr));
  if (auto s = Env("IRONFLOW_SIGNING_KEY"); s && !s->empty()) keys.signing_hex.emplace(*s);
  return keys;
}

void ScrubKeyVariables() {
  for (const char* name : kKeyVariables) {
    // The environ entries of variables the process started with point into the environment block itself (the one
    // /proc/<pid>/environ shows): overwrite the value bytes of every entry with this name (a variable can appear
    // twice) before dropping them.
    const size_t name_len = std::strlen(name);
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      if (std::strncmp(*e, name, name_len) != 0 || (*e)[name_len] != '=') continue;
      volatile char* p = *e + name_len + 1;
      for (size_t i = 0, n = std::strlen(*e + name_len + 1); i < n; ++i) p[i] = '\0';
    }
    ::unsetenv(name);
  }
}

}  // namespace ironflow::server
