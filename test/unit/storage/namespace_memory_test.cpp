// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/memory.hpp>

#include "namespace_store_suite.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace pier_test {

namespace namespace_memory_test {

// Other suites specialise store_maker<memory_metadata_store>, and the unity build makes
// their files one translation unit with this one: a type of its own gives this suite its
// maker.
struct store : pier::storage::memory_metadata_store {};

static_assert(pier::storage::NamespaceStore<pier::storage::memory_metadata_store>);

} // namespace namespace_memory_test

template <>
struct store_maker<namespace_memory_test::store> {
  std::unique_ptr<namespace_memory_test::store> make() {
    return std::make_unique<namespace_memory_test::store>();
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(memory, namespace_store_suite, namespace_memory_test::store);

} // namespace pier_test
