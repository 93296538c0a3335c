// pier: a container-image registry as a header-only C++20 library.
// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_PIER_HPP
#define PIER_PIER_HPP

/// @file
/// Everything in pier except optional backends (pier/storage/rocksdb.hpp needs RocksDB
/// and is included on its own). single_include/pier/pier.hpp is generated from this file.

#include <pier/config.hpp>

#include <pier/core/ancestry.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/hasher.hpp>
#include <pier/core/duration.hpp>
#include <pier/core/error.hpp>
#include <pier/core/error_body.hpp>
#include <pier/core/manifest.hpp>
#include <pier/core/media_type.hpp>
#include <pier/core/reference.hpp>
#include <pier/core/result.hpp>

#include <pier/storage/concepts.hpp>
#include <pier/storage/filesystem.hpp>
#include <pier/storage/memory.hpp>
#include <pier/storage/usage.hpp>

#include <pier/http/handler.hpp>
#include <pier/http/message.hpp>
#include <pier/http/parser.hpp>
#include <pier/http/range.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/http/router.hpp>
#include <pier/http/server.hpp>
#include <pier/http/tls.hpp>

#include <pier/registry/api.hpp>
#include <pier/registry/gc.hpp>
#include <pier/registry/gc_api.hpp>
#include <pier/registry/responses.hpp>
#include <pier/registry/routes.hpp>
#include <pier/registry/v2.hpp>

#include <pier/auth/access_token.hpp>
#include <pier/auth/address_range.hpp>
#include <pier/auth/api.hpp>
#include <pier/auth/certificate.hpp>
#include <pier/auth/certificate_files.hpp>
#include <pier/auth/gate.hpp>
#include <pier/auth/htpasswd.hpp>
#include <pier/auth/jwt.hpp>
#include <pier/auth/password.hpp>
#include <pier/auth/policy.hpp>
#include <pier/auth/rate_limit.hpp>
#include <pier/auth/scope.hpp>

#endif // PIER_PIER_HPP
