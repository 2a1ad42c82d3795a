// HistogramCounts: observations (in seconds) counted into fixed, cumulative buckets, the shape Prometheus
// histograms are rendered in. A plain value: the owner guards it (Metrics under its mutex, Engine under its own).
#pragma once

#include <array>
#include <cstdint>

namespace ironflow::server {

struct HistogramCounts {
  // From 1 ms (an HTTP call) to a minute (a job waiting in a backlog).
  static constexpr std::array<double, 15> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,      2.5,   5,    10,    30,   60};
  std::array<uint64_t, kBounds.size()> cumulative{};  // observations <= kBounds[i]
  uint64_t count = 0;
  double sum = 0;

  void Add(double seconds) {
    for (size_t i = 0; i < kBounds.size(); ++i) {
      if (seconds <= kBounds[i]) ++cumulative[i];
    }
    ++count;
    sum += seconds;
  }
};

}  // namespace ironflow::server
