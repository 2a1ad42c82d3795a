// Who may call what (auth/access_policy.h): each role reaches exactly its access levels, a bound key only its
// environment, and a caller without a known role nothing at all (fail closed).
#include "auth/access_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ironflow::server {
namespace {

Actor WithRole(const std::string& role, std::string environment = "") {
  Actor a{"apikey", "key_1", "test", ParseRole(role).value_or(Role::kNone), std::move(environment)};
  return a;
}

TEST(AccessPolicyTest, AnEmptyOrUnknownRoleMayDoNothing) {
  for (const char* role : {"", "root", "Admin", "admin ", "superuser"}) {
    EXPECT_TRUE(Authorize(WithRole(role), Access::kAuthenticated, std::nullopt).is(Code::kPermissionDenied))
        << "role \"" << role << "\"";
    EXPECT_TRUE(Authorize(WithRole(role), Access::kRead, std::string("default")).is(Code::kPermissionDenied))
        << "role \"" << role << "\"";
  }
}

TEST(AccessPolicyTest, RoleNamesRoundTripAndNoOtherSpellingIsARole) {
  for (Role r : {Role::kAdmin, Role::kManager, Role::kReader, Role::kWorker}) EXPECT_EQ(ParseRole(RoleName(r)), r);
  for (const char* name : {"", "root", "Admin", "admin ", "workers"}) EXPECT_FALSE(ParseRole(name)) << name;
}

TEST(AccessPolicyTest, EachRoleGrantsExactlyItsLevels) {
  using A = Access;
  const std::vector<A> all = {A::kAuthenticated, A::kRead, A::kConfigRead, A::kKvRead, A::kKvWrite,
                              A::kWrite,         A::kEmit, A::kRegister,   A::kWorker, A::kAdmin};
  const std::map<std::string, std::set<A>> grants = {
      {"admin", {all.begin(), all.end()}},
      {"manager",
       {A::kAuthenticated, A::kRead, A::kConfigRead, A::kKvRead, A::kKvWrite, A::kWrite, A::kEmit, A::kRegister}},
      {"reader", {A::kAuthenticated, A::kRead, A::kConfigRead, A::kKvRead}},
      {"worker", {A::kAuthenticated, A::kWorker, A::kEmit, A::kRegister, A::kConfigRead, A::kKvRead, A::kKvWrite}},
  };
  for (const auto& [role, granted] : grants) {
    ASSERT_TRUE(ParseRole(role)) << role;
    for (A a : all) EXPECT_EQ(RoleGrants(*ParseRole(role), a), granted.count(a) > 0) << role << " / " << AccessName(a);
  }
}

TEST(AccessPolicyTest, ABoundKeyReachesOnlyItsEnvironment) {
  const Actor manager = WithRole("manager", "staging");
  EXPECT_TRUE(Authorize(manager, Access::kWrite, std::string("staging")).ok());
  EXPECT_TRUE(Authorize(manager, Access::kWrite, std::string("production")).is(Code::kPermissionDenied));
  const Actor reader = WithRole("reader", "staging");
  EXPECT_TRUE(Authorize(reader, Access::kWrite, std::string("staging")).is(Code::kPermissionDenied));
  EXPECT_TRUE(Authorize(WithRole("admin"), Access::kWrite, std::string("anything")).ok());
}

}  // namespace
}  // namespace ironflow::server
