// The states of a run and of its current attempt, as enums. Their names ("queued", "leased", "pull", ...) are the
// stored and API spelling; strings exist only where a record or a request is encoded or decoded.
#pragma once

#include <optional>
#include <string_view>

namespace ironflow::server {

// A run: queued (an attempt waits for delivery), running (an attempt is leased), then completed or failed.
enum class RunStatus { kQueued, kRunning, kCompleted, kFailed };
// The current attempt of an unfinished run: pending (waiting until its not_before) or leased. kNone: the run ended.
enum class DeliveryState { kNone, kPending, kLeased };
// How a function receives its attempts: pull workers lease them, or the server pushes a signed HTTP call.
enum class DeliveryMode { kPull, kPush };

std::string_view RunStatusName(RunStatus status);                // "queued", "running", "completed", "failed"
std::string_view DeliveryStateName(DeliveryState state);         // "", "pending", "leased"
std::string_view DeliveryModeName(DeliveryMode mode);            // "pull", "push"
std::optional<RunStatus> ParseRunStatus(std::string_view name);  // nullopt for any other spelling
std::optional<DeliveryState> ParseDeliveryState(std::string_view name);
std::optional<DeliveryMode> ParseDeliveryMode(std::string_view name);

}  // namespace ironflow::server
