// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_SCOPE_HPP
#define PIER_AUTH_IMPL_SCOPE_HPP

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <utility>

#include <pier/core/detail/ascii.hpp>
#include <pier/core/detail/base64.hpp>
#include <pier/core/reference.hpp>

PIER_BEGIN_NAMESPACE
namespace auth {

namespace detail {

class scope_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.auth.scope"; }

  std::string message(int ev) const override {
    switch (static_cast<scope_error>(ev)) {
    case scope_error::empty: return "scope is empty";
    case scope_error::malformed: return "scope is not type:name:actions";
    case scope_error::invalid_type: return "scope resource type is not [a-z0-9]+[(class)]";
    case scope_error::invalid_name: return "scope resource name is invalid";
    case scope_error::invalid_action: return "scope action is empty or not [a-z0-9_-]+ or '*'";
    case scope_error::invalid_access: return "access claim is not [{type, name, actions}]";
    case scope_error::invalid_parameter:
      return "challenge parameter contains control characters or is not a token";
    }
    return "unknown scope error";
  }

  std::error_condition default_error_condition(int ev) const noexcept override {
    oci_error e = oci_error::unauthorized;
    if (static_cast<scope_error>(ev) == scope_error::invalid_name)
      e = oci_error::name_invalid;
    else if (static_cast<scope_error>(ev) == scope_error::invalid_parameter)
      e = oci_error::unknown;
    return {static_cast<int>(e), oci_category()};
  }
};

class credentials_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.auth.credentials"; }

  std::string message(int ev) const override {
    switch (static_cast<credentials_error>(ev)) {
    case credentials_error::wrong_scheme: return "authorization uses another scheme";
    case credentials_error::malformed: return "authorization credentials are malformed";
    case credentials_error::invalid_base64: return "basic credentials are not base64";
    case credentials_error::missing_colon: return "basic credentials have no ':'";
    case credentials_error::empty_user: return "basic credentials have an empty user";
    case credentials_error::invalid_character:
      return "basic credentials contain control characters";
    }
    return "unknown credentials error";
  }

  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::unauthorized), oci_category()};
  }
};

namespace scope_grammar {

using namespace ::pier::detail::ascii;

constexpr bool is_type_value(std::string_view s) noexcept {
  if (s.empty())
    return false;
  for (char c : s)
    if (!is_lower_alnum(c))
      return false;
  return true;
}

constexpr bool is_action(std::string_view a) noexcept {
  if (a == "*")
    return true;
  if (a.empty())
    return false;
  for (char c : a)
    if (!(is_lower_alnum(c) || c == '_' || c == '-'))
      return false;
  return true;
}

constexpr bool is_other_name(std::string_view n) noexcept {
  if (n.empty())
    return false;
  for (char c : n)
    if (!(is_alnum(c) || c == '.' || c == '_' || c == '/' || c == ':' || c == '-'))
      return false;
  return true;
}

constexpr bool is_ctl(char c) noexcept {
  auto const u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

inline void add_action(std::vector<std::string>& actions, std::string_view a) {
  if (std::find(actions.begin(), actions.end(), a) == actions.end())
    actions.emplace_back(a);
}

// Merges `s` into `list`: same type, class and name unite their actions.
inline void merge(std::vector<resource_scope>& list, resource_scope&& s) {
  for (resource_scope& e : list) {
    if (e.type == s.type && e.resource_class == s.resource_class && e.name == s.name) {
      for (std::string const& a : s.actions)
        add_action(e.actions, a);
      return;
    }
  }
  list.push_back(std::move(s));
}

inline std::error_code parse_list(std::string_view s, std::vector<resource_scope>& out) {
  while (!s.empty()) {
    std::size_t const sp = s.find(' ');
    std::string_view const one = s.substr(0, sp);
    s.remove_prefix(sp == std::string_view::npos ? s.size() : sp + 1);
    if (one.empty())
      continue; // runs of spaces
    result<resource_scope> r = parse_scope(one);
    if (!r)
      return r.error();
    merge(out, std::move(*r));
  }
  return {};
}

// `"…"` with '"' and '\' escaped (RFC 9110 §5.6.4); false on control characters.
inline bool append_quoted(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    if (is_ctl(c))
      return false;
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return true;
}

constexpr bool is_token68(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size() && (is_alnum(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_' ||
                          s[i] == '~' || s[i] == '+' || s[i] == '/'))
    ++i;
  if (i == 0)
    return false;
  while (i < s.size() && s[i] == '=')
    ++i;
  return i == s.size();
}

// Splits `value` into its scheme and what follows the spaces after it.
inline credentials_error split_credentials(std::string_view value, std::string_view scheme,
                                           std::string_view& rest) noexcept {
  value = trim_ows(value);
  std::size_t const sp = value.find(' ');
  if (!iequals(value.substr(0, sp), scheme))
    return credentials_error::wrong_scheme;
  if (sp == std::string_view::npos)
    return credentials_error::malformed;
  rest = value.substr(sp);
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  if (!is_token68(rest))
    return credentials_error::malformed;
  return {};
}

inline std::string json_string(boost::json::string const& s) {
  return std::string(s.data(), s.size());
}

} // namespace scope_grammar

} // namespace detail

inline std::error_category const& scope_category() noexcept {
  static detail::scope_category_impl const instance;
  return instance;
}

inline std::error_category const& credentials_category() noexcept {
  static detail::credentials_category_impl const instance;
  return instance;
}

inline result<resource_scope> parse_scope(std::string_view s) {
  using namespace detail::scope_grammar;
  if (s.empty())
    return scope_error::empty;
  std::size_t const first = s.find(':');
  std::size_t const last = s.rfind(':');
  if (first == std::string_view::npos || first == last)
    return scope_error::malformed;

  resource_scope out;
  std::string_view type = s.substr(0, first);
  if (std::size_t const open = type.find('('); open != std::string_view::npos) {
    std::string_view const cls = type.substr(open + 1);
    if (!cls.ends_with(')') || !is_type_value(cls.substr(0, cls.size() - 1)))
      return scope_error::invalid_type;
    out.resource_class = cls.substr(0, cls.size() - 1);
    type = type.substr(0, open);
  }
  if (!is_type_value(type))
    return scope_error::invalid_type;
  out.type = type;

  std::string_view const name = s.substr(first + 1, last - first - 1);
  if (out.type == "repository" ? !validate_repository_name(name) : !is_other_name(name))
    return scope_error::invalid_name;
  out.name = name;

  std::string_view actions = s.substr(last + 1);
  for (;;) {
    std::size_t const comma = actions.find(',');
    std::string_view const a = actions.substr(0, comma);
    if (!is_action(a))
      return scope_error::invalid_action;
    add_action(out.actions, a);
    if (comma == std::string_view::npos)
      break;
    actions.remove_prefix(comma + 1);
  }
  return out;
}

inline result<std::vector<resource_scope>> parse_scopes(std::string_view s) {
  std::vector<resource_scope> out;
  if (std::error_code ec = detail::scope_grammar::parse_list(s, out))
    return ec;
  return out;
}

inline result<std::vector<resource_scope>> parse_scopes(std::span<std::string_view const> params) {
  std::vector<resource_scope> out;
  for (std::string_view p : params)
    if (std::error_code ec = detail::scope_grammar::parse_list(p, out))
      return ec;
  return out;
}

inline std::string to_string(resource_scope const& s) {
  std::string out = s.type;
  if (!s.resource_class.empty())
    out.append("(").append(s.resource_class).append(")");
  out.append(":").append(s.name).append(":");
  for (std::size_t i = 0; i < s.actions.size(); ++i) {
    if (i != 0)
      out.push_back(',');
    out += s.actions[i];
  }
  return out;
}

inline std::string to_string(std::span<resource_scope const> scopes) {
  std::string out;
  for (resource_scope const& s : scopes) {
    if (!out.empty())
      out.push_back(' ');
    out += to_string(s);
  }
  return out;
}

inline boost::json::array access_to_json(std::span<resource_scope const> access) {
  boost::json::array out;
  out.reserve(access.size());
  for (resource_scope const& s : access) {
    boost::json::array actions;
    actions.reserve(s.actions.size());
    for (std::string const& a : s.actions)
      actions.emplace_back(a);
    out.emplace_back(boost::json::object{
        {"type", s.type},
        {"name", s.name},
        {"actions", std::move(actions)},
    });
  }
  return out;
}

inline result<std::vector<resource_scope>> access_from_json(boost::json::value const& v) {
  using detail::scope_grammar::json_string;
  if (!v.is_array())
    return scope_error::invalid_access;
  std::vector<resource_scope> out;
  out.reserve(v.get_array().size());
  for (boost::json::value const& e : v.get_array()) {
    if (!e.is_object())
      return scope_error::invalid_access;
    boost::json::object const& o = e.get_object();
    boost::json::value const* type = o.if_contains("type");
    boost::json::value const* name = o.if_contains("name");
    if (type == nullptr || !type->is_string() || name == nullptr || !name->is_string())
      return scope_error::invalid_access;
    resource_scope s;
    s.type = json_string(type->get_string());
    s.name = json_string(name->get_string());
    if (boost::json::value const* actions = o.if_contains("actions")) {
      if (!actions->is_array())
        return scope_error::invalid_access;
      for (boost::json::value const& a : actions->get_array()) {
        if (!a.is_string())
          return scope_error::invalid_access;
        detail::scope_grammar::add_action(s.actions, json_string(a.get_string()));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

inline bool allows(std::span<resource_scope const> access, std::string_view type,
                   std::string_view name, std::string_view action) noexcept {
  for (resource_scope const& e : access) {
    if (e.type != type || e.name != name)
      continue;
    for (std::string const& a : e.actions)
      if (a == action || a == "*")
        return true;
  }
  return false;
}

inline std::vector<resource_scope> intersect(std::span<resource_scope const> requested,
                                             std::span<resource_scope const> granted) {
  std::vector<resource_scope> out;
  for (resource_scope const& r : requested) {
    resource_scope s{r.type, {}, r.name, {}};
    for (std::string const& a : r.actions)
      if (allows(granted, r.type, r.name, a))
        detail::scope_grammar::add_action(s.actions, a);
    if (!s.actions.empty())
      detail::scope_grammar::merge(out, std::move(s));
  }
  return out;
}

inline result<std::string> bearer_challenge(std::string_view realm, std::string_view service,
                                            std::span<resource_scope const> scopes,
                                            std::string_view error) {
  using namespace detail::scope_grammar;
  std::string out = "Bearer realm=";
  if (!append_quoted(out, realm))
    return scope_error::invalid_parameter;
  if (!service.empty()) {
    out += ",service=";
    if (!append_quoted(out, service))
      return scope_error::invalid_parameter;
  }
  if (!scopes.empty()) {
    out += ",scope=";
    if (!append_quoted(out, to_string(scopes)))
      return scope_error::invalid_parameter;
  }
  if (!error.empty()) {
    if (!is_token(error))
      return scope_error::invalid_parameter;
    out += ",error=\"";
    out += error;
    out += '"';
  }
  return out;
}

inline result<std::string> basic_challenge(std::string_view realm) {
  std::string out = "Basic realm=";
  if (!detail::scope_grammar::append_quoted(out, realm))
    return scope_error::invalid_parameter;
  return out;
}

inline result<basic_credentials> parse_basic_authorization(std::string_view value) {
  using namespace detail::scope_grammar;
  std::string_view encoded;
  if (credentials_error const e = split_credentials(value, "Basic", encoded);
      e != credentials_error{})
    return e;
  std::string decoded;
  if (!::pier::detail::base64::decode(encoded, ::pier::detail::base64::alphabet::standard,
                                      ::pier::detail::base64::padding::optional, false, decoded))
    return credentials_error::invalid_base64;
  std::size_t const colon = decoded.find(':');
  if (colon == std::string::npos)
    return credentials_error::missing_colon;
  if (colon == 0)
    return credentials_error::empty_user;
  if (std::any_of(decoded.begin(), decoded.end(), [](char c) { return is_ctl(c) || c == '\t'; }))
    return credentials_error::invalid_character;
  basic_credentials out;
  out.user = decoded.substr(0, colon);
  out.password = decoded.substr(colon + 1);
  return out;
}

inline result<std::string_view> parse_bearer_authorization(std::string_view value) {
  std::string_view token;
  if (credentials_error const e = detail::scope_grammar::split_credentials(value, "Bearer", token);
      e != credentials_error{})
    return e;
  return token;
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_SCOPE_HPP
