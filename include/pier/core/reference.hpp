// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_REFERENCE_HPP
#define PIER_CORE_REFERENCE_HPP

/// @file
/// Image references (FQIN): `[domain[:port]/]path[:tag][@digest]`, as the Docker and OCI
/// tools write them, and Docker Hub's normalisation (`ubuntu` is
/// `docker.io/library/ubuntu:latest`).
///
/// @code
/// pier::result<pier::reference_view> r =
///     pier::parse_reference_view("registry.example.com:5000/team/app:1.2");
/// assert(r && r->domain() == "registry.example.com:5000" && r->path() == "team/app");
/// assert(r->tag() == "1.2" && !r->has_digest());
///
/// pier::result<pier::reference> n = pier::parse_normalized_reference("ubuntu");
/// assert(n && n->str() == "docker.io/library/ubuntu:latest");
/// assert(pier::familiar_string(*n) == "ubuntu:latest");
/// @endcode
///
/// The grammar is that of the distribution reference library (the one docker, containerd
/// and the reference registry use):
///
/// @code{.unparsed}
/// reference      := name [ ":" tag ] [ "@" digest ]
/// name           := [ domain "/" ] remote-name            ; at most 255 characters
/// domain         := host [ ":" port-number ]
/// host           := domain-name | "[" IPv6address "]"     ; IPv4 is a domain-name
/// domain-name    := domain-component [ "." domain-component ]*
/// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
/// port-number    := [0-9]+                                ; at most 65535
/// remote-name    := path-component [ "/" path-component ]*
/// path-component := alpha-numeric [ separator alpha-numeric ]*
/// alpha-numeric  := [a-z0-9]+
/// separator      := "." | "_" | "__" | "-"+
/// tag            := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
/// digest         := see pier/core/digest.hpp (sha256 and sha512)
/// @endcode
///
/// As Docker does, the part before the first '/' is a domain only when it contains '.'
/// or ':', is `localhost`, or has an upper-case letter; otherwise it is the first path
/// component. So `localhost:5000` alone is the repository `localhost` with tag `5000`.
///
/// See https://github.com/distribution/reference/blob/main/reference.go (grammar) and
/// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
/// (repository names and tags as the registry API uses them).

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE

/// Which rule of the reference grammar a string breaks.
///
/// The category maps each value to the OCI code a registry answers with: name rules to
/// `oci_error::name_invalid`, tag rules to `oci_error::tag_invalid`, the digest to
/// `oci_error::digest_invalid`.
///
/// @code
/// std::error_code ec = pier::parse_reference_view("Ubuntu").error();
/// assert(ec == pier::reference_error::uppercase_in_path);
/// assert(pier::to_oci_error(ec) == pier::oci_error::name_invalid);
/// @endcode
enum class reference_error {
  empty = 1,              ///< the string is empty
  missing_name,           ///< a tag or digest with no name before it (":tag", "@sha256:…")
  invalid_domain,         ///< the host is not a domain name ("exa_mple.com", "a..b", "-a.com")
  invalid_port,           ///< ':' after the host is not followed by a port number ≤ 65535
  invalid_ipv6,           ///< "[…]" is not an IPv6 address (zone identifiers are refused)
  empty_path_component,   ///< a '/' with nothing after or before it ("a//b", "/a", "a/")
  invalid_path_component, ///< a character outside [a-z0-9._-] in a path component
  uppercase_in_path,      ///< an upper-case letter in the path (allowed only in the host)
  leading_separator,      ///< a path component starts with '.', '_' or '-'
  trailing_separator,     ///< a path component ends with '.', '_' or '-'
  invalid_separator,      ///< separators run together other than "__" and "--…" ("a._b")
  name_too_long,          ///< domain, '/' and path are more than 255 characters
  hex_identifier,         ///< a bare 64-character hex string: an image ID, not a name
  empty_tag,              ///< ':' with no tag after it
  invalid_tag,            ///< a tag that starts with '.' or '-' or has other characters
  tag_too_long,           ///< a tag of more than 128 characters
  invalid_digest,         ///< what follows '@' is not a digest pier accepts
};

/// The category of `reference_error`, named "pier.reference".
std::error_category const& reference_category() noexcept;

inline std::error_code make_error_code(reference_error e) noexcept {
  return {static_cast<int>(e), reference_category()};
}

/// Longest name (domain, '/' and path) a reference may have.
inline constexpr std::size_t reference_max_name_length = 255;
/// Longest tag a reference may have.
inline constexpr std::size_t reference_max_tag_length = 128;

/// The domain Docker Hub references are normalised to.
inline constexpr std::string_view docker_hub_domain = "docker.io";
/// Docker Hub's legacy domain, rewritten to `docker_hub_domain` by normalisation.
inline constexpr std::string_view docker_hub_legacy_domain = "index.docker.io";
/// The namespace of Docker Hub's official images (`ubuntu` is `library/ubuntu`).
inline constexpr std::string_view docker_hub_official_namespace = "library";
/// The tag normalisation gives a reference that has neither tag nor digest.
inline constexpr std::string_view default_tag = "latest";

namespace detail::reference_grammar {
struct reference_rule_t;
} // namespace detail::reference_grammar

class reference;

/// A validated reference that refers to characters owned by someone else.
///
/// Every part is a view into the parsed string; `str()` is the whole of it.
///
/// @code
/// std::string const s = "[::1]:5000/foo/bar:v1";
/// pier::result<pier::reference_view> r = pier::parse_reference_view(s);
/// assert(r && r->domain() == "[::1]:5000" && r->name() == "[::1]:5000/foo/bar");
/// assert(r->str().data() == s.data());
/// @endcode
///
/// A default-constructed view is empty (`str() == ""`); parsing never produces one.
class reference_view {
public:
  constexpr reference_view() noexcept = default;

  /// The registry host with its port, e.g. "example.com:5000"; empty when there is none.
  constexpr std::string_view domain() const noexcept { return domain_; }
  /// The repository path (the "remote name"), e.g. "library/ubuntu".
  constexpr std::string_view path() const noexcept { return path_; }
  /// The domain and path, as a registry's clients write the name.
  constexpr std::string_view name() const noexcept;
  /// The tag; empty when there is none.
  constexpr std::string_view tag() const noexcept { return tag_; }
  /// The digest; empty (`digest().empty()`) when there is none.
  constexpr digest_view digest() const noexcept { return digest_; }

  constexpr bool has_domain() const noexcept { return !domain_.empty(); }
  constexpr bool has_tag() const noexcept { return !tag_.empty(); }
  constexpr bool has_digest() const noexcept { return !digest_.empty(); }
  constexpr bool empty() const noexcept { return str_.empty(); }

  /// The whole reference, exactly as parsed.
  constexpr std::string_view str() const noexcept { return str_; }
  std::string to_string() const { return std::string(str_); }

  /// References are equal when they are spelled the same: no normalisation happens here
  /// (compare the results of `parse_normalized_reference` for that).
  friend constexpr bool operator==(reference_view a, reference_view b) noexcept {
    return a.str_ == b.str_;
  }
  friend constexpr std::strong_ordering operator<=>(reference_view a, reference_view b) noexcept {
    return a.str_.compare(b.str_) <=> 0;
  }

private:
  friend struct detail::reference_grammar::reference_rule_t;
  friend class reference;

  std::string_view str_;
  std::string_view domain_;
  std::string_view path_;
  std::string_view tag_;
  digest_view digest_;
};

/// A validated reference that owns its characters.
///
/// @code
/// pier::reference r = pier::parse_reference("quay.io/coreos/etcd:v3.5.0").value();
/// pier::reference const copy = r;
/// assert(copy == r && copy.path() == "coreos/etcd" && copy.tag() == "v3.5.0");
/// @endcode
///
/// A default-constructed reference is empty, like a default `reference_view`.
class reference {
public:
  reference() = default;
  explicit reference(reference_view v);

  std::string_view domain() const noexcept { return view().domain(); }
  std::string_view path() const noexcept { return view().path(); }
  std::string_view name() const noexcept { return view().name(); }
  std::string_view tag() const noexcept { return view().tag(); }
  digest_view digest() const noexcept { return view().digest(); }

  bool has_domain() const noexcept { return domain_size_ != 0; }
  bool has_tag() const noexcept { return tag_size_ != 0; }
  bool has_digest() const noexcept;
  bool empty() const noexcept { return str_.empty(); }

  /// The whole reference.
  std::string const& str() const noexcept { return str_; }
  std::string const& to_string() const noexcept { return str_; }

  /// A view of this reference, valid while the reference lives and is not modified.
  reference_view view() const noexcept;
  // NOLINTNEXTLINE(google-explicit-constructor): a reference is usable wherever a view is
  operator reference_view() const noexcept { return view(); }

  friend bool operator==(reference const& a, reference const& b) noexcept {
    return a.str_ == b.str_;
  }
  friend std::strong_ordering operator<=>(reference const& a, reference const& b) noexcept {
    return a.str_.compare(b.str_) <=> 0;
  }

private:
  reference(std::string_view domain, std::string_view path_prefix, std::string_view path,
            std::string_view tag, std::string_view digest_str);
  friend result<reference> parse_normalized_reference(std::string_view s);

  // Offsets rather than views, so that copies and moves need no fixing up.
  std::string str_;
  std::size_t domain_size_ = 0;
  std::size_t path_size_ = 0;
  std::size_t tag_size_ = 0;
};

/// Validates `s` as a reference without copying it.
///
/// No normalisation: `ubuntu` has no domain and no tag.
///
/// @code
/// pier::result<pier::reference_view> r = pier::parse_reference_view("ubuntu");
/// assert(r && !r->has_domain() && r->path() == "ubuntu" && !r->has_tag());
/// assert(pier::parse_reference_view("a___b").error() == pier::reference_error::invalid_separator);
/// @endcode
///
/// See https://github.com/distribution/reference/blob/main/reference.go
result<reference_view> parse_reference_view(std::string_view s) noexcept;

/// Validates `s` as a reference and copies it.
///
/// @code
/// pier::result<pier::reference> r = pier::parse_reference("foo:bar:baz");
/// assert(r.error() == pier::reference_error::invalid_tag);
/// assert(pier::to_oci_error(r.error()) == pier::oci_error::tag_invalid);
/// @endcode
result<reference> parse_reference(std::string_view s);

/// Parses `s` the way `docker pull s` reads it.
///
/// - no domain: Docker Hub, `docker.io`; `index.docker.io` is rewritten to `docker.io`;
/// - a Docker Hub path of one component is an official image, under `library/`;
/// - a reference with neither tag nor digest gets the tag `latest`, whatever its domain.
///
/// Other domains and paths are kept as written. A bare 64-character hex string is
/// refused (`reference_error::hex_identifier`) since Docker reads it as an image ID.
///
/// @code
/// assert(pier::parse_normalized_reference("foo/bar").value().str() == "docker.io/foo/bar:latest");
/// assert(pier::parse_normalized_reference("index.docker.io/foo:1").value().str() ==
///        "docker.io/library/foo:1");
/// assert(pier::parse_normalized_reference("localhost:5000/foo").value().str() ==
///        "localhost:5000/foo:latest");
/// @endcode
///
/// See https://github.com/distribution/reference/blob/main/normalize.go
result<reference> parse_normalized_reference(std::string_view s);

/// The short form Docker shows: `docker.io/` and an official image's `library/` removed.
///
/// The tag (and digest) are kept as they are, so `latest` stays. The domain is kept
/// when dropping it would make the first path component read as a domain
/// (`docker.io/foo.com/bar`), so that for every `r` made by `parse_normalized_reference`,
/// `parse_normalized_reference(familiar_string(r)) == r`.
///
/// @code
/// pier::reference r = pier::parse_normalized_reference("docker.io/library/ubuntu").value();
/// assert(pier::familiar_string(r) == "ubuntu:latest");
/// assert(pier::familiar_string(pier::parse_reference("ghcr.io/a/b:1").value()) ==
/// "ghcr.io/a/b:1");
/// @endcode
std::string familiar_string(reference_view r);

/// Validates a repository name as it appears in registry API paths (`/v2/<name>/…`):
/// path components separated by '/', no domain, at most 255 characters.
///
/// @code
/// assert(pier::validate_repository_name("library/ubuntu"));
/// assert(pier::validate_repository_name("a//b").error() ==
///        pier::reference_error::empty_path_component);
/// @endcode
///
/// See https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
result<void> validate_repository_name(std::string_view name) noexcept;

/// Validates a tag as it appears in registry API paths (`/v2/<name>/manifests/<tag>`).
///
/// @code
/// assert(pier::validate_tag("v1.0_rc-1"));
/// assert(pier::validate_tag(".hidden").error() == pier::reference_error::invalid_tag);
/// @endcode
///
/// See https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
result<void> validate_tag(std::string_view tag) noexcept;

/// The namespace of a repository: its first path component, or empty when the name has
/// one component only (`alpine`). A namespace is what users and organisations own and what
/// quotas and namespace totals count; a repository without one belongs to no account and
/// has no quota. The one definition every module uses.
///
/// @code
/// static_assert(pier::namespace_of("team/app/web") == "team");
/// static_assert(pier::namespace_of("alpine").empty());
/// @endcode
constexpr std::string_view namespace_of(std::string_view repository) noexcept {
  std::size_t const slash = repository.find('/');
  return slash == std::string_view::npos ? std::string_view() : repository.substr(0, slash);
}

PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::reference_error> : std::true_type {};

template <>
struct std::hash<pier::reference_view> {
  std::size_t operator()(pier::reference_view r) const noexcept {
    return std::hash<std::string_view>{}(r.str());
  }
};

template <>
struct std::hash<pier::reference> {
  using is_transparent = void;
  std::size_t operator()(pier::reference_view r) const noexcept {
    return std::hash<pier::reference_view>{}(r);
  }
};

#include <pier/core/impl/reference.hpp>

#endif // PIER_CORE_REFERENCE_HPP
