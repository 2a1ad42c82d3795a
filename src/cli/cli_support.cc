#include "cli/cli_support.h"

#include "common/bounded_json.h"
#include "http/request_retry.h"

#include <fmt/core.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace ironflow::server::cli {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Reads the value from a terminal without echo, or all of stdin otherwise (one trailing newline dropped).
SecretString ReadValueFromStdin(const std::string& name) {
  std::string value;
  if (isatty(STDIN_FILENO)) {
    fmt::print(stderr, "Value for {} (input hidden): ", name);
    termios old_t{};
    tcgetattr(STDIN_FILENO, &old_t);
    termios quiet = old_t;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, value);
    tcsetattr(STDIN_FILENO, TCSANOW, &old_t);
    fmt::print(stderr, "\n");
  } else {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    value = ss.str();
    if (!value.empty() && value.back() == '\n') value.pop_back();
    if (!value.empty() && value.back() == '\r') value.pop_back();
  }
  return SecretString(std::move(value));
}

SecretString ReadValueFromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError{"cannot read " + path};
  std::ostringstream ss;
  ss << in.rdbuf();
  return SecretString(ss.str());
}

bool Confirm(const std::string& question) {
  fmt::print(stderr, "{} [y/N] ", question);
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

void PrintJson(const json& j) { fmt::print("{}\n", j.dump(2)); }

std::string DefaultEnv() {
  const char* e = std::getenv("IRONFLOW_ENV");
  return e && *e ? e : "default";
}

CommandError ServerRefused(int http_status, const std::string& body) {
  json doc = ParseBoundedJson(body);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const json& e = doc["error"];
    const std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "error";
    const std::string message =
        e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "request failed";
    return CommandError{message + " (" + code + ")", code};
  }
  return CommandError{"server answered HTTP " + std::to_string(http_status), ""};
}

json Api::Call(const std::string& method, const std::string& target, const std::string& env, const std::string& body,
               const HeaderList& extra, int* status_out) {
  auto client = Client();
  HeaderList headers = BaseHeaders(env);
  for (const auto& h : extra) headers.push_back(h);
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  // A keyed write (and any read) answered 503/429, or not answered, is sent again with backoff.
  auto res = SendWithRetries(*client, method, target, headers, body, 60000);
  if (!res.ok())
    throw CommandError{res.status().message() + " (is `ironflow serve` running at " + global_.server + "?)"};
  if (status_out) *status_out = res->status;
  if (res->status == 204 || res->body.empty()) return json();
  if (res->status >= 400) throw ServerRefused(res->status, res->body);
  json doc = ParseBoundedJson(res->body);
  if (doc.is_discarded()) throw CommandError{"server sent a response that is not JSON"};
  return doc;
}

std::unique_ptr<HttpClient> Api::Client() {
  auto c = HttpClient::Create(global_.server, global_.ca_file);
  if (!c.ok()) throw CommandError{c.status().message()};
  return std::move(c).value();
}

HeaderList Api::BaseHeaders(const std::string& env) {
  HeaderList h;
  std::string key = ApiKey();
  if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
  if (!env.empty()) h.emplace_back("X-Ironflow-Environment", env);
  return h;
}

std::string Api::ApiKey() {
  if (!global_.api_key.empty()) return global_.api_key;
  std::ifstream in(global_.data_dir + "/bootstrap_key");
  std::string key;
  if (in) std::getline(in, key);
  return Trim(key);
}

void Api::Stream(const std::string& target, const std::string& env,
                 const std::function<bool(const std::string&)>& on_frame) {
  auto client = Client();
  int status = 0;
  SseFrames frames;
  std::string error_body;
  Status st = client->Stream(
      target, BaseHeaders(env), [&](int s) { status = s; },
      [&](std::string_view data) {
        if (status >= 400) {
          error_body.append(data);
          return error_body.size() < 64 * 1024;
        }
        return frames.Feed(data, [&](std::string frame) { return on_frame(frame); });
      },
      0);
  if (status >= 400) throw ServerRefused(status, error_body);
  if (!st.ok()) throw CommandError{st.message() + " (is `ironflow serve` running at " + global_.server + "?)"};
}

}  // namespace ironflow::server::cli
