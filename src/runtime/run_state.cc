#include "runtime/run_state.h"

#include <array>
#include <cstddef>

namespace ironflow::server {

namespace {

// One table per enum: the name of each value, in the enum's order.
constexpr std::array<std::string_view, 4> kRunStatusNames = {"queued", "running", "completed", "failed"};
constexpr std::array<std::string_view, 3> kDeliveryStateNames = {"", "pending", "leased"};
constexpr std::array<std::string_view, 2> kDeliveryModeNames = {"pull", "push"};

template <typename Enum, size_t N>
std::optional<Enum> Find(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view RunStatusName(RunStatus status) { return kRunStatusNames[static_cast<size_t>(status)]; }
std::string_view DeliveryStateName(DeliveryState state) { return kDeliveryStateNames[static_cast<size_t>(state)]; }
std::string_view DeliveryModeName(DeliveryMode mode) { return kDeliveryModeNames[static_cast<size_t>(mode)]; }

std::optional<RunStatus> ParseRunStatus(std::string_view name) { return Find<RunStatus>(kRunStatusNames, name); }
std::optional<DeliveryState> ParseDeliveryState(std::string_view name) {
  return Find<DeliveryState>(kDeliveryStateNames, name);
}
std::optional<DeliveryMode> ParseDeliveryMode(std::string_view name) {
  return Find<DeliveryMode>(kDeliveryModeNames, name);
}

}  // namespace ironflow::server
