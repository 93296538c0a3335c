// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/memory.hpp>

#include "account_store_suite.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace pier_test {

namespace account_memory_test {

// memory_test.cpp specialises store_maker<memory_metadata_store> for the MetadataStore
// suite, and the unity build makes both files one translation unit: a type of its own
// gives this suite its maker without a second specialisation.
struct store : pier::storage::memory_metadata_store {};

static_assert(pier::storage::AccountStore<pier::storage::memory_metadata_store>);
static_assert(pier::storage::AccountStore<store>);

} // namespace account_memory_test

template <>
struct store_maker<account_memory_test::store> {
  std::unique_ptr<account_memory_test::store> make() {
    return std::make_unique<account_memory_test::store>();
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(memory, account_store_suite, account_memory_test::store);

} // namespace pier_test
