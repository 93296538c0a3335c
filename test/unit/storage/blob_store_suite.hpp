// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_STORAGE_BLOB_STORE_SUITE_HPP
#define PIER_TEST_UNIT_STORAGE_BLOB_STORE_SUITE_HPP

// The behaviour every BlobStore shares, as a typed test suite. A test file specialises
// `pier_test::store_maker<Store>` (a default-constructible type whose `make()` returns a
// `std::unique_ptr<Store>` to a fresh, empty store) and instantiates the suite:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(memory, blob_store_suite, memory_blob_store);

#include <pier/storage/concepts.hpp>

#include "test_util.hpp"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <unistd.h>

namespace pier_test {

template <class Store>
struct store_maker;

/// The bytes a `blob_source` refers to, read with pread (as the HTTP layer would send them).
inline std::string read_source(pier::storage::blob_source const& src) {
  auto const* region = std::get_if<pier::storage::file_region>(&src);
  if (region == nullptr)
    return "<redirect>";
  std::string out(region->length, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t const n = ::pread(region->fd, out.data() + done, out.size() - done,
                              static_cast<off_t>(region->offset + done));
    if (n <= 0)
      return "<short read>";
    done += static_cast<std::size_t>(n);
  }
  return out;
}

template <class Store>
class blob_store_suite : public ::testing::Test {
protected:
  static_assert(pier::storage::BlobStore<Store>);

  template <class T>
  T run(asio::awaitable<T> a) {
    return pier_test::run(io_, std::move(a));
  }
  Store& store() { return *store_; }

  /// Uploads `content` in `pieces` appends and commits it under its digest.
  pier::result<pier::storage::blob_info> upload(std::string const& content, std::size_t pieces) {
    auto id = run(store().begin_upload());
    if (!id)
      return id.error();
    std::size_t const step = content.size() / pieces + 1;
    for (std::size_t at = 0; at < content.size(); at += step) {
      auto n = run(store().append(*id, bytes_of(std::string_view(content).substr(at, step)), at));
      if (!n)
        return n.error();
    }
    return run(store().commit(*id, pier::digest_of(content), content.size()));
  }

  store_maker<Store> maker_;
  std::unique_ptr<Store> store_ = maker_.make();
  asio::io_context io_;
};

TYPED_TEST_SUITE_P(blob_store_suite);

namespace st = pier::storage;

TYPED_TEST_P(blob_store_suite, upload_in_several_appends_then_commit) {
  auto& s = this->store();
  std::string const content = make_content(300000, 1);
  pier::digest const d = pier::digest_of(content);

  auto id = this->run(s.begin_upload());
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_TRUE(st::is_upload_id(*id));
  EXPECT_EQ(this->run(s.upload_size(*id)).value(), 0u);
  std::string_view const v(content);
  EXPECT_EQ(this->run(s.append(*id, bytes_of(v.substr(0, 1000)), 0)).value(), 1000u);
  EXPECT_EQ(this->run(s.append(*id, bytes_of(v.substr(1000, 99000)), 1000)).value(), 100000u);
  // A streamed chunk (no offset) goes at the end.
  EXPECT_EQ(this->run(s.append(*id, bytes_of(v.substr(100000)), std::nullopt)).value(), 300000u);
  EXPECT_EQ(this->run(s.upload_size(*id)).value(), 300000u);
  EXPECT_EQ(this->run(s.stat(d)).error(), st::storage_error::blob_unknown); // not yet

  auto info = this->run(s.commit(*id, d, content.size()));
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->size, content.size());
  EXPECT_EQ(this->run(s.stat(d)).value().size, content.size());
  auto src = this->run(s.open(d, 0, std::nullopt));
  ASSERT_TRUE(src);
  EXPECT_EQ(read_source(*src), content);

  // The upload is over.
  EXPECT_EQ(this->run(s.upload_size(*id)).error(), st::storage_error::upload_unknown);
  EXPECT_EQ(this->run(s.append(*id, bytes_of("x"), std::nullopt)).error(),
            st::storage_error::upload_unknown);
  EXPECT_EQ(this->run(s.commit(*id, d, std::nullopt)).error(), st::storage_error::upload_unknown);
}

TYPED_TEST_P(blob_store_suite, chunk_at_wrong_offset_changes_nothing) {
  auto& s = this->store();
  auto id = this->run(s.begin_upload()).value();
  EXPECT_EQ(this->run(s.append(id, bytes_of("abc"), 0)).value(), 3u);
  auto const repeated = this->run(s.append(id, bytes_of("abc"), 0));
  EXPECT_EQ(repeated.error(), st::storage_error::upload_offset_mismatch);
  EXPECT_EQ(pier::to_oci_error(repeated.error()), pier::oci_error::range_invalid);
  EXPECT_EQ(this->run(s.append(id, bytes_of("xyz"), 4)).error(),
            st::storage_error::upload_offset_mismatch);
  EXPECT_EQ(this->run(s.upload_size(id)).value(), 3u);
  EXPECT_EQ(this->run(s.append(id, bytes_of("def"), 3)).value(), 6u);
  EXPECT_TRUE(this->run(s.commit(id, pier::digest_of("abcdef"), 6u)));
}

TYPED_TEST_P(blob_store_suite, digest_mismatch_stores_nothing) {
  auto& s = this->store();
  std::string const content = make_content(5000, 2);
  auto id = this->run(s.begin_upload()).value();
  ASSERT_TRUE(this->run(s.append(id, bytes_of(content), 0)));
  pier::digest const claimed = pier::digest_of("something else");
  auto const r = this->run(s.commit(id, claimed, std::nullopt));
  EXPECT_EQ(r.error(), pier::digest_error::mismatch);
  EXPECT_EQ(pier::to_oci_error(r.error()), pier::oci_error::digest_invalid);
  EXPECT_EQ(this->run(s.stat(claimed)).error(), st::storage_error::blob_unknown);
  EXPECT_EQ(this->run(s.stat(pier::digest_of(content))).error(), st::storage_error::blob_unknown);
  EXPECT_EQ(this->run(s.upload_size(id)).error(), st::storage_error::upload_unknown);

  // put verifies too.
  EXPECT_EQ(this->run(s.put(bytes_of("abc"), claimed)).error(), pier::digest_error::mismatch);
  EXPECT_EQ(this->run(s.stat(claimed)).error(), st::storage_error::blob_unknown);
}

TYPED_TEST_P(blob_store_suite, size_mismatch_stores_nothing) {
  auto& s = this->store();
  auto id = this->run(s.begin_upload()).value();
  ASSERT_TRUE(this->run(s.append(id, bytes_of("abc"), 0)));
  auto const r = this->run(s.commit(id, pier::digest_of("abc"), 4u));
  EXPECT_EQ(r.error(), st::storage_error::size_mismatch);
  EXPECT_EQ(pier::to_oci_error(r.error()), pier::oci_error::size_invalid);
  EXPECT_EQ(this->run(s.stat(pier::digest_of("abc"))).error(), st::storage_error::blob_unknown);
}

TYPED_TEST_P(blob_store_suite, abort_discards_the_upload) {
  auto& s = this->store();
  auto id = this->run(s.begin_upload()).value();
  ASSERT_TRUE(this->run(s.append(id, bytes_of("abc"), 0)));
  EXPECT_TRUE(this->run(s.abort(id)));
  EXPECT_EQ(this->run(s.upload_size(id)).error(), st::storage_error::upload_unknown);
  EXPECT_EQ(this->run(s.append(id, bytes_of("d"), 3)).error(), st::storage_error::upload_unknown);
  EXPECT_EQ(this->run(s.commit(id, pier::digest_of("abc"), std::nullopt)).error(),
            st::storage_error::upload_unknown);
  EXPECT_EQ(this->run(s.abort(id)).error(), st::storage_error::upload_unknown);
  EXPECT_EQ(this->run(s.stat(pier::digest_of("abc"))).error(), st::storage_error::blob_unknown);
}

TYPED_TEST_P(blob_store_suite, unknown_and_malformed_upload_ids) {
  auto& s = this->store();
  for (std::string const& id : {st::make_upload_id(), std::string("../../etc/passwd"),
                                std::string(""), std::string("uploads")}) {
    EXPECT_EQ(this->run(s.upload_size(id)).error(), st::storage_error::upload_unknown) << id;
    EXPECT_EQ(this->run(s.append(id, bytes_of("x"), std::nullopt)).error(),
              st::storage_error::upload_unknown);
    EXPECT_EQ(this->run(s.commit(id, pier::digest_of("x"), std::nullopt)).error(),
              st::storage_error::upload_unknown);
    EXPECT_EQ(this->run(s.abort(id)).error(), st::storage_error::upload_unknown);
  }
}

TYPED_TEST_P(blob_store_suite, ranges_via_open) {
  auto& s = this->store();
  std::string const content = "0123456789";
  pier::digest const d = pier::digest_of(content);
  ASSERT_TRUE(this->run(s.put(bytes_of(content), d)));

  auto part = this->run(s.open(d, 3, 4u));
  ASSERT_TRUE(part);
  auto const& region = std::get<st::file_region>(*part);
  EXPECT_EQ(region.offset, 3u);
  EXPECT_EQ(region.length, 4u);
  EXPECT_TRUE(region.owner);
  EXPECT_EQ(read_source(*part), "3456");
  EXPECT_EQ(read_source(this->run(s.open(d, 5, std::nullopt)).value()), "56789");
  EXPECT_EQ(read_source(this->run(s.open(d, 8, 100u)).value()), "89"); // cut at the end
  EXPECT_EQ(read_source(this->run(s.open(d, 10, std::nullopt)).value()), "");
  auto const past = this->run(s.open(d, 11, std::nullopt));
  EXPECT_EQ(past.error(), st::storage_error::range_invalid);
  EXPECT_EQ(pier::to_oci_error(past.error()), pier::oci_error::range_invalid);
  EXPECT_EQ(this->run(s.open(pier::digest_of("nothing"), 0, std::nullopt)).error(),
            st::storage_error::blob_unknown);
}

TYPED_TEST_P(blob_store_suite, put_remove_and_open_regions_outlive_removal) {
  auto& s = this->store();
  std::string const content = make_content(70000, 3);
  pier::digest const d = pier::digest_of(content);
  EXPECT_EQ(this->run(s.put(bytes_of(content), d)).value().size, content.size());
  auto src = this->run(s.open(d, 0, std::nullopt)).value();
  EXPECT_TRUE(this->run(s.remove(d)));
  EXPECT_EQ(this->run(s.stat(d)).error(), st::storage_error::blob_unknown);
  EXPECT_EQ(this->run(s.remove(d)).error(), st::storage_error::blob_unknown);
  EXPECT_EQ(read_source(src), content); // a reader that opened it still sends it whole
}

TYPED_TEST_P(blob_store_suite, same_content_committed_twice) {
  auto& s = this->store();
  std::string const content = make_content(1000, 4);
  EXPECT_TRUE(this->upload(content, 3));
  EXPECT_TRUE(this->upload(content, 1));
  EXPECT_EQ(read_source(this->run(s.open(pier::digest_of(content), 0, std::nullopt)).value()),
            content);
}

TYPED_TEST_P(blob_store_suite, empty_blob_and_sha512) {
  auto& s = this->store();
  auto id = this->run(s.begin_upload()).value();
  EXPECT_EQ(this->run(s.commit(id, pier::digest_of(""), 0u)).value().size, 0u);
  EXPECT_EQ(this->run(s.stat(pier::digest_of(""))).value().size, 0u);

  std::string const content = make_content(4000, 5);
  pier::digest const d512 = pier::digest_of(content, pier::digest_algorithm::sha512);
  EXPECT_EQ(this->run(s.put(bytes_of(content), d512)).value().size, content.size());
  EXPECT_EQ(read_source(this->run(s.open(d512, 0, std::nullopt)).value()), content);
  EXPECT_EQ(this->run(s.stat(pier::digest_of(content))).error(), st::storage_error::blob_unknown);
}

TYPED_TEST_P(blob_store_suite, concurrent_uploads_from_several_threads) {
  auto& s = this->store();
  constexpr int threads = 4;
  constexpr int per_thread = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      asio::io_context io;
      for (int i = 0; i < per_thread; ++i) {
        std::string const content = make_content(10000 + static_cast<std::size_t>(i),
                                                 static_cast<unsigned>(100 + t * per_thread + i));
        auto id = run(io, s.begin_upload());
        if (!id) {
          ++failures;
          continue;
        }
        std::string_view const v(content);
        bool ok = run(io, s.append(*id, bytes_of(v.substr(0, 5000)), 0u)).has_value();
        ok = ok && run(io, s.append(*id, bytes_of(v.substr(5000)), 5000u)).has_value();
        ok = ok && run(io, s.commit(*id, pier::digest_of(content), std::nullopt)).has_value();
        if (!ok)
          ++failures;
      }
    });
  }
  for (std::thread& t : pool)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int k = 0; k < threads * per_thread; ++k) {
    std::string const content = make_content(10000 + static_cast<std::size_t>(k % per_thread),
                                             static_cast<unsigned>(100 + k));
    EXPECT_EQ(this->run(s.stat(pier::digest_of(content))).value().size, content.size());
  }
}

REGISTER_TYPED_TEST_SUITE_P(blob_store_suite, upload_in_several_appends_then_commit,
                            chunk_at_wrong_offset_changes_nothing, digest_mismatch_stores_nothing,
                            size_mismatch_stores_nothing, abort_discards_the_upload,
                            unknown_and_malformed_upload_ids, ranges_via_open,
                            put_remove_and_open_regions_outlive_removal,
                            same_content_committed_twice, empty_blob_and_sha512,
                            concurrent_uploads_from_several_threads);

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_BLOB_STORE_SUITE_HPP
