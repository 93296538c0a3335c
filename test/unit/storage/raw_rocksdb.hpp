// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_STORAGE_RAW_ROCKSDB_HPP
#define PIER_TEST_UNIT_STORAGE_RAW_ROCKSDB_HPP

// Opening a metadata database with RocksDB alone, to leave what another version of pier (or
// damage) could have left: for tests linked with RocksDB only.

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace pier_test {

/// Opens `<data>/meta` (closed by the store) with every column family it has, and calls
/// `f(db, families, handles)`, `handles[i]` the handle of `families[i]`.
template <class F>
void with_raw_rocksdb(std::filesystem::path const& data, F f) {
  std::string const path = (data / "meta").string();
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::string const& n : families)
    descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  f(*db, families, handles);
  for (rocksdb::ColumnFamilyHandle* h : handles)
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
}

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_RAW_ROCKSDB_HPP
