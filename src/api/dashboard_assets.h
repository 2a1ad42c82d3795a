// The dashboard's files (dashboard/*), compiled into the binary by cmake/embed_dashboard.cmake.
#pragma once

#include <string_view>

namespace ironflow::server {

struct DashboardAsset {
  std::string_view name;  // file name, e.g. "main.js"
  std::string_view content_type;
  std::string_view body;
};

// nullptr when there is no such file.
const DashboardAsset* FindDashboardAsset(std::string_view name);

}  // namespace ironflow::server
