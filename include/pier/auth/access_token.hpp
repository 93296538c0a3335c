// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_ACCESS_TOKEN_HPP
#define PIER_AUTH_ACCESS_TOKEN_HPP

/// @file
/// Personal access tokens: random secrets a user makes through the accounts API and uses as
/// a password (Basic credentials, the token service's password grant), each revocable on its
/// own.
///
/// A token reads `pier_<id>_<secret>`: `id` is 16 random characters of `[a-z0-9]` that name
/// the token (the key of its `access_token_record`), `secret` is 32 random bytes (256 bits) in
/// unpadded base64url, 43 characters; 65 characters in all. The fixed prefix lets secret
/// scanners recognise leaked tokens, and lets the gate tell a token from a password without
/// running bcrypt. The record keeps only the lower-case hex SHA-256 of the secret (of its 43
/// characters as the token spells them): a leaked store does not give the tokens away, and a
/// fast hash is enough because the secret has 256 bits of entropy, not a human's choice.
///
/// A token has scopes, chosen when it is made; each allows what the user may do anyway,
/// never more, and only this much of it:
/// - `pull`: registry reads (`GET`/`HEAD` of `/v2/…`: manifests, blobs, tags, referrers, the
///   catalog) and tokens from `/auth/token` for `pull`; on `/api/v1`, `GET` and `HEAD`.
/// - `push`: `pull`, and uploads and manifest `PUT` (tokens for `push`).
/// - `delete`: `pull`, and `DELETE` of manifests, tags and blobs (tokens for `delete`).
/// - `admin`: all of the above, and the changes on `/api/v1` that are not account changes:
///   organisations, members, repository visibility, the other APIs there (the GC), and the
///   administrators' endpoints outside `/v2/`.
/// No scope allows account changes: creating or deleting users, setting a password, making
/// or revoking tokens. Those need the password itself (see gate.hpp).
/// A token stored before tokens had scopes (`scopes` empty) has `pull`, `push` and `delete`:
/// what such tokens were made for (registry logins), without the account changes.
///
/// @code
/// namespace auth = pier::auth;
/// auto const now = std::chrono::system_clock::now();
/// auth::new_access_token t = auth::make_access_token("alice", "ci", now, std::nullopt,
///                                                    {"push"});
/// assert(auth::token_grants_of(t.record).push && !auth::token_grants_of(t.record).admin);
/// assert(t.token.starts_with("pier_") && t.token.size() == 65);
/// assert(auth::access_token_id(t.token) == t.record.id);
/// assert(auth::check_access_token(t.record, t.token, now));
/// assert(!auth::access_token_id("hunter22")); // a password, not a token
/// @endcode

#include <pier/config.hpp>
#include <pier/storage/types.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth {

/// What every token starts with.
inline constexpr std::string_view access_token_prefix = "pier_";
/// How many characters of `[a-z0-9]` a token id has.
inline constexpr std::size_t access_token_id_length = 16;
/// How many characters the secret has: 32 bytes in unpadded base64url.
inline constexpr std::size_t access_token_secret_length = 43;
/// How many characters a whole token has.
inline constexpr std::size_t access_token_length =
    access_token_prefix.size() + access_token_id_length + 1 + access_token_secret_length;

/// What a token's scopes allow, the scopes they imply included (see the file comment).
struct token_grants {
  bool pull = false;
  bool push = false;
  bool del = false;
  bool admin = false;

  friend bool operator==(token_grants const&, token_grants const&) = default;
};

/// The scope names, in their canonical order.
inline constexpr std::string_view access_token_scopes[] = {"pull", "push", "delete", "admin"};

/// The grants of a list of scope names; nothing for an unknown name (so `parse` first).
token_grants token_grants_of(std::vector<std::string> const& scopes) noexcept;

/// What a stored token may do: its scopes', or for a token without scopes (made before
/// scopes existed) `pull`, `push` and `delete`.
token_grants token_grants_of(storage::access_token_record const& r) noexcept;

/// `scopes` as they are stored: known names only, each once, in canonical order; empty when
/// one is unknown or none is given.
///
/// @code
/// assert((pier::auth::normalize_token_scopes({"push", "pull", "push"}) ==
///         std::vector<std::string>{"pull", "push"}));
/// assert(pier::auth::normalize_token_scopes({"root"}).empty());
/// @endcode
std::vector<std::string> normalize_token_scopes(std::vector<std::string> const& scopes);

/// A token just made: the record to store, and the token to show its user once.
struct new_access_token {
  storage::access_token_record record;
  std::string token; ///< the only copy of the secret: never store or log it
};

/// A new token for `user`, created at `now`, valid until `expires` (forever when empty), with
/// `scopes` (normalised; `pull` when none of them is known).
///
/// The id and secret come from OpenSSL's CSPRNG (`RAND_bytes`). Throws `std::system_error`
/// only when the generator fails, as `storage::make_upload_id` does. Ids are random: a
/// collision among 36^16 ids is not going to happen, but `AccountStore::add_token` would
/// replace the other token, so the accounts API checks with `get_token` that the id is
/// unused before it stores the record.
new_access_token
make_access_token(std::string user, std::string description,
                  std::chrono::system_clock::time_point now,
                  std::optional<std::chrono::system_clock::time_point> expires = std::nullopt,
                  std::vector<std::string> const& scopes = {"pull"});

/// The id of `token` if it has the shape `make_access_token` gives (prefix, 16 characters of
/// `[a-z0-9]`, '_', 43 characters of canonical base64url); empty otherwise, so that a
/// password is never mistaken for a token.
///
/// @code
/// assert(!pier::auth::access_token_id("pier_short_x"));
/// @endcode
std::optional<std::string> access_token_id(std::string_view token);

/// Whether `token` is the token of record `r` and still valid at `now`: the shape is right,
/// its id is `r.id`, `r.expires` (if any) is after `now`, and the SHA-256 of its secret
/// equals `r.secret_hash`, compared in constant time (`CRYPTO_memcmp`) so the time taken
/// does not tell how much of a guess was right. False for anything else, never throws.
bool check_access_token(storage::access_token_record const& r, std::string_view token,
                        std::chrono::system_clock::time_point now) noexcept;

} // namespace auth
PIER_END_NAMESPACE

#include <pier/auth/impl/access_token.hpp>

#endif // PIER_AUTH_ACCESS_TOKEN_HPP
