// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_CERTIFICATE_FILES_HPP
#define PIER_AUTH_CERTIFICATE_FILES_HPP

/// @file
/// Writes the certificates of `generate_certificates` into a directory, as
/// `pier-registry gen-cert` does.
///
/// @code
/// pier::auth::certificate_request req;
/// req.host = "registry.local";
/// auto set = pier::auth::generate_certificates(req);
/// if (set) {
///   pier::result<void> w = pier::auth::write_certificate_files(*set, "/etc/pier/tls");
///   if (!w)
///     std::fprintf(stderr, "gen-cert: %s\n", w.error().message().c_str());
/// }
/// @endcode
///
/// Files: `ca.crt` and `server.crt` (mode 0644), `server.key` (0600), and with
/// `with_ca_key` also `ca.key` (0600). Each is written to a new temporary file created with
/// its final mode (a key is never readable by others, not even for an instant), synced, and
/// renamed over the old one: a reader sees the old file or the new, never half of one, and
/// an existing file is replaced. The directory is created (0755) when missing.

#include <pier/auth/certificate.hpp>
#include <pier/config.hpp>
#include <pier/core/result.hpp>

#include <string>
#include <string_view>

#include <sys/types.h>

PIER_BEGIN_NAMESPACE
namespace auth {

/// Writes `set` into `dir` as above. Errors are the `errno` of the failing call
/// (`std::system_category()`); a file already replaced stays replaced.
result<void> write_certificate_files(certificate_set const& set, std::string const& dir,
                                     bool with_ca_key = false);

/// Writes `data` into `path` as each certificate file is written: through `path.tmp`,
/// created with `mode` (O_EXCL, not following a link planted there), synced, renamed over
/// `path`, and the directory synced. For any secret an application keeps on disk (a
/// signing key, say).
result<void> replace_file(std::string const& path, std::string_view data, mode_t mode);

} // namespace auth
PIER_END_NAMESPACE

#include <pier/auth/impl/certificate_files.hpp>

#endif // PIER_AUTH_CERTIFICATE_FILES_HPP
