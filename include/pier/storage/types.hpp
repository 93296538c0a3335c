// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_TYPES_HPP
#define PIER_STORAGE_TYPES_HPP

/// @file
/// The values that storage operations take and return: what `BlobStore::open` gives the
/// HTTP layer to send, upload ids, manifests as stored, referrers, pages of names and
/// upload sessions.
///
/// @code
/// std::string id = pier::storage::make_upload_id();
/// assert(pier::storage::is_upload_id(id) && id.size() == 36);
/// @endcode

#include <pier/config.hpp>
#include <pier/core/digest.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage {

/// What a store knows about a blob without reading it.
struct blob_info {
  std::uint64_t size = 0;

  friend bool operator==(blob_info const&, blob_info const&) = default;
};

/// Bytes `[offset, offset + length)` of an open file, for `sendfile(2)` or `pread(2)`.
///
/// `owner` keeps `fd` open for as long as any copy of the region lives, so the HTTP layer
/// may send it after the blob was deleted or replaced: the bytes it sends are the blob's.
/// Never close `fd` yourself.
struct file_region {
  std::shared_ptr<void const> owner;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

/// The blob lives elsewhere (an object store): answer with a redirect to `url`.
struct redirect {
  std::string url;
};

/// How the HTTP layer sends (part of) a blob.
using blob_source = std::variant<file_region, redirect>;

/// The id of an upload: a random version-4 UUID, lower-case, 36 characters. Ids are also
/// file names and keys, so stores reject anything that `is_upload_id` rejects.
using upload_id = std::string;

/// A fresh random upload id (OpenSSL's CSPRNG: ids are capabilities in URLs, they must not
/// be guessable). Throws `std::system_error` only when the CSPRNG fails.
///
/// @code
/// assert(pier::storage::make_upload_id() != pier::storage::make_upload_id());
/// @endcode
upload_id make_upload_id();

/// Whether `s` has the form `make_upload_id` produces: 8-4-4-4-12 lower-case hex digits.
///
/// @code
/// assert(!pier::storage::is_upload_id("../../etc/passwd"));
/// @endcode
constexpr bool is_upload_id(std::string_view s) noexcept;

/// One page of names in lexical (byte) order: repositories for `_catalog`, tags for
/// `tags/list`.
struct name_page {
  std::vector<std::string> names;
  /// Names exist after the last one here: the registry sends a `Link: <…>; rel="next"`.
  bool more = false;

  friend bool operator==(name_page const&, name_page const&) = default;
};

/// The `subject` of a manifest and what the referrers API lists about the manifest.
struct subject_link {
  pier::digest subject;
  /// The manifest's `artifactType`, or its config's `mediaType` when it has none, as the
  /// referrers API prescribes; may be empty.
  std::string artifact_type;
  /// The manifest's `annotations`.
  std::map<std::string, std::string> annotations;

  friend bool operator==(subject_link const&, subject_link const&) = default;
};

/// A manifest to store: `MetadataStore::put_manifest` writes all of it in one atomic
/// commit.
struct manifest_put {
  /// The digest of `bytes`, computed by the caller (the store does not hash again).
  pier::digest digest;
  /// The manifest's media type, served back as `Content-Type`.
  std::string media_type;
  /// The exact bytes received: they are served back unchanged.
  std::string bytes;
  /// Point this tag at the manifest (moving it if it points elsewhere).
  std::optional<std::string> tag;
  /// Blobs the manifest references (config and layers) that must be linked in the
  /// repository. Leave out blobs clients fetch elsewhere (foreign and non-distributable
  /// layers with `urls`). Duplicates count once.
  std::vector<pier::digest> blobs;
  /// Manifests an index or manifest list references; they must be stored in the
  /// repository. Duplicates count once.
  std::vector<pier::digest> manifests;
  /// Set when the manifest has a `subject`: it then appears in that digest's referrers.
  std::optional<subject_link> subject;
};

/// What `unlink_unreferenced_blob` did: unlinked the blob, or refused because a manifest
/// of the repository references it (naming one when it found one within its bound).
struct blob_unlink {
  bool unlinked = false;
  std::optional<pier::digest> referenced_by;
};

/// A stored manifest: exact bytes and media type.
struct manifest_record {
  pier::digest digest;
  std::string media_type;
  std::string bytes;

  friend bool operator==(manifest_record const&, manifest_record const&) = default;
};

/// One entry of the referrers list of a subject: a descriptor of the referring manifest.
struct referrer {
  pier::digest digest;
  std::string media_type;
  std::uint64_t size = 0;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;

  friend bool operator==(referrer const&, referrer const&) = default;
};

/// An upload in progress, as the metadata store records it: which repository it belongs
/// to and when it began, so that stale uploads can expire.
struct upload_session {
  upload_id id;
  std::string repository;
  std::chrono::system_clock::time_point created;

  friend bool operator==(upload_session const&, upload_session const&) = default;
};

/// A member's role in an organisation: each includes the ones before it.
enum class role : std::uint8_t {
  read = 1,  ///< pull the organisation's repositories
  write = 2, ///< and push to them
  admin = 3, ///< and delete, change visibility, manage members
};

/// Who may pull a repository without being given access to it.
enum class visibility : std::uint8_t {
  private_ = 0, ///< only those with a role on its namespace
  public_ = 1,  ///< everyone, anonymous users included (pull only)
};

/// A registry user. A user owns the namespace of their name.
struct user_record {
  std::string name;
  std::string password_hash; ///< crypt(3) string: bcrypt or yescrypt
  bool admin = false;        ///< may do everything
  std::chrono::system_clock::time_point created;

  friend bool operator==(user_record const&, user_record const&) = default;
};

/// An organisation. It owns the namespace of its name; user and organisation names share
/// one space (no organisation may take a user's name, and the reverse).
struct org_record {
  std::string name;
  std::chrono::system_clock::time_point created;

  friend bool operator==(org_record const&, org_record const&) = default;
};

/// Who creates an organisation, which decides what `AccountStore::create_org` checks in
/// the same atomic step as it creates it.
struct org_claim {
  /// The user who becomes the organisation's first member, with role admin; empty: nobody
  /// (a registry administrator known only outside the store).
  std::string creator;
  /// A registry administrator: the name need only be free of users and organisations. For
  /// anybody else its namespace must be unclaimed too (no repository under `name/`, no
  /// visibility record under `name/`, no quota for `name`, not reserved by a deleted
  /// account), and `creator` must have created fewer than `max_orgs` organisations.
  bool admin = false;
  /// How many organisations a creator who is not an administrator may ever create
  /// (deleted ones count: their names stay reserved); empty: no limit.
  std::optional<std::uint64_t> max_orgs;
};

/// `user` is a member of `org` with `level`.
struct membership {
  std::string org;
  std::string user;
  role level = role::read;

  friend bool operator==(membership const&, membership const&) = default;
};

/// A personal access token, usable as its user's password. Only a hash of the secret is
/// kept: the secret is shown once, when the token is made.
struct access_token_record {
  std::string id;          ///< public identifier, unique
  std::string user;        ///< whose token it is
  std::string description; ///< what the user called it
  std::string secret_hash; ///< lower-case hex SHA-256 of the secret
  std::chrono::system_clock::time_point created;
  std::optional<std::chrono::system_clock::time_point> expires;
  /// What the token may do (`pull`, `push`, `delete`, `admin`; see pier/auth/access_token.hpp).
  /// Empty for a token made before tokens had scopes.
  std::vector<std::string> scopes{};

  friend bool operator==(access_token_record const&, access_token_record const&) = default;
};

/// One page of a listing in name order, and whether more follow.
template <class T>
struct page {
  std::vector<T> items;
  bool more = false;

  friend bool operator==(page const&, page const&) = default;
};

/// A tag as the namespace queries list it.
struct tag_entry {
  std::string repository;
  std::string tag;
  pier::digest digest;
  std::string media_type;
  std::uint64_t size = 0;                       ///< the manifest's size in bytes
  std::chrono::system_clock::time_point pushed; ///< when the tag last moved to `digest`

  friend bool operator==(tag_entry const&, tag_entry const&) = default;
};

/// A blob that no manifest references any more, as the garbage collector sees it.
struct unreferenced_blob {
  pier::digest digest;
  /// The newest of its links (upload, mount) and touches (reads through a repository).
  std::chrono::system_clock::time_point last_used;

  friend bool operator==(unreferenced_blob const&, unreferenced_blob const&) = default;
};

/// A manifest that lost its last tag, parent index or referrer (untag, tag moved, its parent
/// index or last referrer deleted) and has no tag, no referrer and no parent index in its
/// repository.
struct untagged_manifest {
  std::string repository;
  pier::digest digest;
  std::chrono::system_clock::time_point since; ///< when it became so

  friend bool operator==(untagged_manifest const&, untagged_manifest const&) = default;
};

// --- fsck (registry/fsck.hpp): what the stores enumerate for a check ---------------------

/// A blob as a blob store holds it: its name, its size and when it was last committed.
struct stored_blob {
  pier::digest digest;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified;

  friend bool operator==(stored_blob const&, stored_blob const&) = default;
};

/// An upload in progress as a blob store holds it (its bytes so far).
struct stored_upload {
  upload_id id;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified;

  friend bool operator==(stored_upload const&, stored_upload const&) = default;
};

/// A (repository, digest) pair that the metadata store records: a blob link.
struct stored_link {
  std::string repository;
  pier::digest digest;

  friend bool operator==(stored_link const&, stored_link const&) = default;
};

/// A manifest a repository holds, with the references its stored record lists.
struct stored_manifest {
  std::string repository;
  pier::digest digest;
  std::vector<pier::digest> blobs;
  std::vector<pier::digest> manifests;

  friend bool operator==(stored_manifest const&, stored_manifest const&) = default;
};

/// A stored reference count: `kind` 'b' (manifests referencing a blob), 'm' (indexes
/// referencing a manifest) or 'r' (repositories holding a manifest).
struct stored_count {
  char kind = 'b';
  pier::digest digest;
  std::uint64_t count = 0;

  friend bool operator==(stored_count const&, stored_count const&) = default;
};

} // namespace storage
PIER_END_NAMESPACE

#include <pier/storage/impl/types.hpp>

#endif // PIER_STORAGE_TYPES_HPP
