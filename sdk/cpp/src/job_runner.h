// Internal: turning a job document (pull or push shape) into a Context, running the handler, and building the
// result document. Shared by Worker and PushServer.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ironflow/function.h"

namespace ironflow::detail {

// Overwrites and removes every secret value a job document carries (pull: context.secrets, push: secrets).
void WipeJobSecrets(nlohmann::json& job) noexcept;

// Runs `fn` for `job` ({run_id, function_id, attempt, event, steps, context:{secrets} | secrets}) and returns
// {status:"completed", output, steps} or {status:"failed", error:{message, retryable}, steps}. The declared
// secrets are copied into the Context and wiped in `job` before the handler runs; the Context's copies are
// wiped when the handler returns or throws. Never throws.
// `stores` (may be null) backs ctx.config and ctx.kv(); the environment is the job's (`environment`), else
// `default_environment`.
nlohmann::json RunJob(const Function& fn, nlohmann::json& job, std::shared_ptr<StoreAccess> stores = nullptr,
                      const std::string& default_environment = "default") noexcept;

}  // namespace ironflow::detail
