// The web dashboard: GET / (the page) and GET /ui/{file} (its scripts and styles), served from the binary.
// No authentication here: the files hold no data; every API call the page makes carries the user's key.
// A strict Content-Security-Policy allows only this origin's scripts, styles and API.
#include "api/api_util.h"
#include "api/dashboard_assets.h"
#include "api/routes.h"

namespace ironflow::server {
namespace {

HttpResponse Serve(const DashboardAsset& a) {
  HttpResponse r;
  r.content_type = std::string(a.content_type);
  r.body = std::string(a.body);
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                         "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

void AddDashboardRoutes(Router& router) {
  router.Add("GET", "/", Access::kPublic, [](const ApiCall&) {
    const DashboardAsset* index = FindDashboardAsset("index.html");
    if (!index) return api::ErrorResponse(Status::NotFound("this build has no dashboard"));
    return Serve(*index);
  });
  router.Add("GET", "/ui/{file}", Access::kPublic, [](const ApiCall& call) {
    const DashboardAsset* a = FindDashboardAsset(call.params[0]);
    if (!a) return api::ErrorResponse(Status::NotFound("no such dashboard file"));
    return Serve(*a);
  });
}

}  // namespace ironflow::server
