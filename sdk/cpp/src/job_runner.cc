#include "job_runner.h"

#include <openssl/crypto.h>

#include <exception>

namespace ironflow::detail {

namespace {

using nlohmann::json;

void WipeSecretObject(json& secrets) noexcept {
  if (!secrets.is_object()) return;
  for (auto& [name, value] : secrets.items()) {
    if (value.is_string()) {
      auto& s = value.get_ref<std::string&>();
      if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
      s.clear();
    }
  }
  secrets = json::object();
}

std::string StringField(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

json Failure(std::string message, bool retryable) {
  return json{{"status", "failed"}, {"error", {{"message", std::move(message)}, {"retryable", retryable}}}};
}

}  // namespace

void WipeJobSecrets(json& job) noexcept {
  if (!job.is_object()) return;
  if (auto it = job.find("secrets"); it != job.end()) WipeSecretObject(*it);
  if (auto ctx = job.find("context"); ctx != job.end() && ctx->is_object()) {
    if (auto it = ctx->find("secrets"); it != ctx->end()) WipeSecretObject(*it);
  }
}

json RunJob(const Function& fn, json& job, std::shared_ptr<StoreAccess> stores,
            const std::string& default_environment) noexcept {
  try {
    // 1. Secrets: declared names only, copied out of the job, which is wiped at once.
    Context ctx;
    std::map<std::string, std::string, std::less<>> values;
    const json* source = nullptr;
    if (auto ctx = job.find("context"); ctx != job.end() && ctx->is_object()) {
      if (auto it = ctx->find("secrets"); it != ctx->end() && it->is_object()) source = &*it;
    }
    if (source == nullptr) {
      if (auto it = job.find("secrets"); it != job.end() && it->is_object()) source = &*it;
    }
    if (source != nullptr) {
      for (const auto& name : fn.config.secrets) {
        auto it = source->find(name);
        if (it != source->end() && it->is_string()) values.emplace(name, it->get_ref<const std::string&>());
      }
    }
    ctx.secrets = Secrets(fn.config.id, fn.config.secrets, std::move(values));
    WipeJobSecrets(job);

    ctx.function_id = StringField(job, "function_id");
    if (ctx.function_id.empty()) ctx.function_id = fn.config.id;
    ctx.run_id = StringField(job, "run_id");
    ctx.environment = StringField(job, "environment");
    if (ctx.environment.empty()) ctx.environment = default_environment;
    ctx.store_access = stores;
    ctx.config = ConfigClient(stores, ctx.environment);
    if (auto it = job.find("attempt"); it != job.end() && it->is_number_integer()) ctx.attempt = it->get<int>();
    if (auto it = job.find("event"); it != job.end() && it->is_object()) {
      ctx.event.id = StringField(*it, "id");
      ctx.event.name = StringField(*it, "name");
      if (auto d = it->find("data"); d != it->end()) ctx.event.data = *d;
      ctx.event.timestamp = StringField(*it, "timestamp");
    }
    std::vector<CompletedStep> stored;
    if (auto it = job.find("steps"); it != job.end() && it->is_array()) {
      for (const auto& s : *it) {
        if (!s.is_object()) continue;
        auto id = s.find("id");
        if (id == s.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) continue;
        auto out = s.find("output");
        stored.push_back({id->get<std::string>(), out == s.end() ? json(nullptr) : *out});
      }
    }
    ctx.step = Steps(std::move(stored));

    // 2. The handler. Whatever happens, the secret values are wiped before we go on.
    json result;
    try {
      json output = fn.handler(ctx);
      result = json{{"status", "completed"}, {"output", std::move(output)}};
    } catch (const NonRetryableError& e) {
      result = Failure(e.what(), false);
    } catch (const SecretNotDeclared& e) {
      result = Failure(e.what(), false);
    } catch (const std::exception& e) {
      result = Failure(e.what(), true);
    } catch (...) {
      result = Failure("handler threw a non-standard exception", true);
    }
    ctx.secrets.wipe();

    // 3. Completed steps (stored and new), so a retry skips them.
    json steps = json::array();
    for (const auto& s : ctx.step.completed()) steps.push_back({{"id", s.id}, {"output", s.output}});
    result["steps"] = std::move(steps);
    return result;
  } catch (const std::exception& e) {
    WipeJobSecrets(job);
    return Failure(std::string("the SDK could not run the job: ") + e.what(), true);
  } catch (...) {
    WipeJobSecrets(job);
    return Failure("the SDK could not run the job", true);
  }
}

}  // namespace ironflow::detail
