// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_POLICY_HPP
#define PIER_AUTH_POLICY_HPP

/// @file
/// Who may do what to a repository: the rules of users, organisations and visibility,
/// as plain functions of what the account store knows (no I/O).
///
/// - An administrator may do everything.
/// - A user owns the namespace of their name (`alice/...`): pull, push, delete.
/// - An organisation owns the namespace of its name; its members act on it by role:
///   read pulls, write also pushes, admin also deletes and manages the organisation.
/// - Anyone, anonymous callers included, may pull a public repository.
/// - A repository without a namespace (`alpine`) belongs to the administrators.
///
/// @code
/// namespace auth = pier::auth;
/// auth::principal bob{"bob", false, {{"acme", "bob", pier::storage::role::write}}};
/// auto p = auth::repository_permissions(bob, "acme/app", pier::storage::visibility::private_);
/// assert(p.pull && p.push && !p.del);
/// assert(!auth::repository_permissions(auth::principal{}, "acme/app",
///                                      pier::storage::visibility::private_).pull);
/// @endcode

#include <pier/config.hpp>
#include <pier/core/reference.hpp>
#include <pier/storage/types.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth {

/// Who is asking: an authenticated user, or nobody (empty name).
struct principal {
  std::string name;                          ///< empty: anonymous
  bool admin = false;                        ///< a registry administrator
  std::vector<storage::membership> memberships; ///< the user's organisations, any order

  bool anonymous() const noexcept { return name.empty(); }
};

/// What a principal may do to one repository.
struct permissions {
  bool pull = false;
  bool push = false;
  bool del = false; ///< delete manifests, tags and blobs

  friend bool operator==(permissions const&, permissions const&) = default;
};

/// Whether `name` can be a user or organisation name: one repository path component
/// (lower-case letters and digits, separated by `.`, `_`, `__` or dashes), at most 64
/// characters, so that it is a namespace as it is.
inline bool is_valid_account_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64)
    return false;
  char const* it = name.data();
  char const* const end = it + name.size();
  return pier::detail::reference_grammar::path_component_rule.parse(it, end).has_value() && it == end;
}

/// The principal's role on a namespace: admin for administrators and for the user who owns
/// it, the member's role for an organisation's namespace, none otherwise (and none for an
/// empty namespace unless administrator).
inline std::optional<storage::role> namespace_role(principal const& p,
                                                   std::string_view ns) noexcept {
  if (p.admin)
    return storage::role::admin;
  if (p.anonymous() || ns.empty())
    return std::nullopt;
  if (p.name == ns)
    return storage::role::admin;
  auto const it = std::find_if(p.memberships.begin(), p.memberships.end(),
                               [&](storage::membership const& m) { return m.org == ns; });
  if (it == p.memberships.end())
    return std::nullopt;
  return it->level;
}

/// What `p` may do to `repository`, whose visibility is `v`.
inline permissions repository_permissions(principal const& p, std::string_view repository,
                                          storage::visibility v) noexcept {
  permissions out;
  out.pull = v == storage::visibility::public_;
  if (auto const r = namespace_role(p, namespace_of(repository))) {
    out.pull = true;
    out.push = *r >= storage::role::write;
    out.del = *r >= storage::role::admin;
  }
  return out;
}

/// The token-scope actions (`pull`, `push`, `delete`) that `granted` allows, in that order.
inline std::vector<std::string> scope_actions(permissions granted) {
  std::vector<std::string> out;
  if (granted.pull)
    out.emplace_back("pull");
  if (granted.push)
    out.emplace_back("push");
  if (granted.del)
    out.emplace_back("delete");
  return out;
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_POLICY_HPP
