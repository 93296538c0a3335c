// pier: a container-image registry as a header-only C++20 library.
// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CONFIG_HPP
#define PIER_CONFIG_HPP

/// @file
/// Version and namespace macros shared by every pier header.
///
/// All of pier lives in `namespace pier { inline namespace v0 { ... } }` so that two
/// versions of the library linked into one program do not clash (ODR), while users
/// keep writing `pier::reference`.

#define PIER_VERSION_MAJOR 0
#define PIER_VERSION_MINOR 1
#define PIER_VERSION_PATCH 0
#define PIER_VERSION (PIER_VERSION_MAJOR * 10000 + PIER_VERSION_MINOR * 100 + PIER_VERSION_PATCH)
#define PIER_VERSION_STRING "0.1.0"

#define PIER_BEGIN_NAMESPACE                                                                       \
  namespace pier {                                                                                 \
  inline namespace v0 {
#define PIER_END_NAMESPACE                                                                         \
  }                                                                                                \
  }

#if !defined(ASIO_STANDALONE)
#define ASIO_STANDALONE 1
#endif

#endif // PIER_CONFIG_HPP
