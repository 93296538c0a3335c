// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/memory.hpp>

#include "collectable_store_suite.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace pier_test {

namespace collectable_memory_test {

// memory_test.cpp specialises store_maker<memory_metadata_store> for the MetadataStore
// suite, and the unity build makes both files one translation unit: a type of its own
// gives this suite its maker without a second specialisation.
struct store : pier::storage::memory_metadata_store {};

static_assert(pier::storage::CollectableStore<pier::storage::memory_metadata_store>);

} // namespace collectable_memory_test

template <>
struct store_maker<collectable_memory_test::store> {
  std::unique_ptr<collectable_memory_test::store> make() {
    return std::make_unique<collectable_memory_test::store>();
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(memory, collectable_store_suite, collectable_memory_test::store);

} // namespace pier_test
