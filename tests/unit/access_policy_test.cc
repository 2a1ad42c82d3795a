// Who may call what (auth/access_policy.h): each role reaches exactly its access levels, a bound key only its
// environment, and a caller without a known role nothing at all (fail closed).
#include "auth/access_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ironflow {
namespace {

Actor WithRole(std::string role, std::string environment = "") {
  Actor a{"apikey", "key_1", "test", std::move(role), std::move(environment)};
  return a;
}

TEST(AccessPolicyTest, AnEmptyOrUnknownRoleMayDoNothing) {
  for (const char* role : {"", "root", "Admin", "admin ", "superuser"}) {
    EXPECT_TRUE(Authorize(WithRole(role), "GET", "/api/v1/status", std::nullopt).is(Code::kPermissionDenied))
        << "role \"" << role << "\"";
    EXPECT_TRUE(Authorize(WithRole(role), "GET", "/api/v1/secrets", std::string("default")).is(Code::kPermissionDenied))
        << "role \"" << role << "\"";
  }
}

TEST(AccessPolicyTest, EachRoleGrantsExactlyItsLevels) {
  using A = Access;
  const std::vector<A> all = {A::kAuthenticated, A::kRead,     A::kConfigRead, A::kKvRead, A::kKvWrite,
                              A::kWrite,         A::kEmit,     A::kRegister,   A::kWorker, A::kAdmin};
  const std::map<std::string, std::set<A>> grants = {
      {"admin", {all.begin(), all.end()}},
      {"manager", {A::kAuthenticated, A::kRead, A::kConfigRead, A::kKvRead, A::kKvWrite, A::kWrite, A::kEmit, A::kRegister}},
      {"reader", {A::kAuthenticated, A::kRead, A::kConfigRead, A::kKvRead}},
      {"worker", {A::kAuthenticated, A::kWorker, A::kEmit, A::kRegister, A::kConfigRead, A::kKvRead, A::kKvWrite}},
  };
  for (const auto& [role, granted] : grants) {
    for (A a : all) EXPECT_EQ(RoleGrants(role, a), granted.count(a) > 0) << role << " / " << static_cast<int>(a);
  }
}

TEST(AccessPolicyTest, RoutesNeedTheirLevel) {
  EXPECT_EQ(RequiredAccess("POST", "/api/v1/apikeys"), Access::kAdmin);
  EXPECT_EQ(RequiredAccess("POST", "/api/v1/rekey"), Access::kAdmin);
  EXPECT_EQ(RequiredAccess("GET", "/api/v1/environments"), Access::kAuthenticated);
  EXPECT_EQ(RequiredAccess("DELETE", "/api/v1/environments/{name}"), Access::kAdmin);
  EXPECT_EQ(RequiredAccess("GET", "/api/v1/secrets/{name}"), Access::kRead);
  EXPECT_EQ(RequiredAccess("PUT", "/api/v1/secrets/{name}"), Access::kWrite);
  EXPECT_EQ(RequiredAccess("GET", "/api/v1/workers/{worker_id}/jobs"), Access::kWorker);
  EXPECT_EQ(RequiredAccess("PUT", "/api/v1/kv/buckets/{bucket}/keys/{key}"), Access::kKvWrite);
  EXPECT_EQ(RequiredAccess("DELETE", "/api/v1/kv/buckets/{bucket}"), Access::kWrite);
}

TEST(AccessPolicyTest, ABoundKeyReachesOnlyItsEnvironment) {
  const Actor manager = WithRole("manager", "staging");
  EXPECT_TRUE(Authorize(manager, "PUT", "/api/v1/secrets/{name}", std::string("staging")).ok());
  EXPECT_TRUE(Authorize(manager, "PUT", "/api/v1/secrets/{name}", std::string("production")).is(Code::kPermissionDenied));
  const Actor reader = WithRole("reader", "staging");
  EXPECT_TRUE(Authorize(reader, "PUT", "/api/v1/secrets/{name}", std::string("staging")).is(Code::kPermissionDenied));
  EXPECT_TRUE(Authorize(WithRole("admin"), "PUT", "/api/v1/secrets/{name}", std::string("anything")).ok());
}

}  // namespace
}  // namespace ironflow
