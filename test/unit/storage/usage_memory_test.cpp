// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/memory.hpp>

#include "usage_store_suite.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace pier_test {

namespace usage_memory_test {

// A type of its own, so that this suite's maker is not another file's specialisation in
// the unity build.
struct store : pier::storage::memory_metadata_store {};

static_assert(pier::storage::QuotaStore<pier::storage::memory_metadata_store>);

} // namespace usage_memory_test

template <>
struct store_maker<usage_memory_test::store> {
  std::unique_ptr<usage_memory_test::store> make() {
    return std::make_unique<usage_memory_test::store>();
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(memory, usage_store_suite, usage_memory_test::store);

} // namespace pier_test
