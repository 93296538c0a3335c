// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_REGISTRY_BLOB_DELETE_SCENARIO_HPP
#define PIER_TEST_UNIT_REGISTRY_BLOB_DELETE_SCENARIO_HPP

// DELETE /v2/<name>/blobs/<digest> of a blob that a manifest of the repository references
// is refused (405 UNSUPPORTED naming the manifest), over any metadata store that is a
// ReferenceCheckingStore; what no manifest of the repository references still goes.

#include "test_registry.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace pier_test {

/// The scenario on a fresh registry behind `c`, in repositories `<prefix>a`, `<prefix>b`.
inline void referenced_blobs_are_not_deleted(http_client const& c, std::string const& prefix) {
  std::string const a = prefix + "a";
  std::string const b = prefix + "b";
  content const cfg1 = config(101);
  content const cfg2 = config(102);
  content const shared = layer(300, 103);
  content const m1 = image_manifest(cfg1, {shared});
  content const m2 = image_manifest(cfg2, {shared});
  push_image(c, a, "v1", cfg1, {shared}, m1);
  push_blob(c, b, shared); // linked in b, referenced by no manifest there

  auto const refused = [&](content const& blob, content const& by) {
    reply const r = c.request("DELETE", blob_path(a, blob.digest));
    EXPECT_EQ(r.status, 405) << r.body;
    EXPECT_EQ(error_code(r), "UNSUPPORTED") << r.body;
    boost::json::value const e = boost::json::parse(r.body).at("errors").at(0);
    EXPECT_EQ(e.at("detail").at("manifest").as_string(), by.digest.str()) << r.body;
    EXPECT_NE(e.at("message").as_string().find(by.digest.str()), std::string::npos) << r.body;
    EXPECT_EQ(c.get(blob_path(a, blob.digest)).body, blob.bytes); // still there
  };
  refused(shared, m1);
  refused(cfg1, m1);
  EXPECT_EQ(c.get(manifest_path(a, "v1")).body, m1.bytes); // the image still pulls

  // Another repository's link goes: no manifest there needs it.
  EXPECT_EQ(c.request("DELETE", blob_path(b, shared.digest)).status, 202);
  EXPECT_EQ(c.get(blob_path(b, shared.digest)).status, 404);

  // Two manifests use the layer: deleting one leaves it referenced by the other.
  push_blob(c, a, cfg2);
  ASSERT_EQ(put_manifest(c, a, "v2", m2).status, 201);
  ASSERT_EQ(c.request("DELETE", manifest_path(a, m1.digest.str())).status, 202);
  refused(shared, m2);
  // cfg1 is no longer used: it goes.
  EXPECT_EQ(c.request("DELETE", blob_path(a, cfg1.digest)).status, 202);
  ASSERT_EQ(c.request("DELETE", manifest_path(a, m2.digest.str())).status, 202);
  EXPECT_EQ(c.request("DELETE", blob_path(a, shared.digest)).status, 202);
  EXPECT_EQ(c.request("DELETE", blob_path(a, cfg2.digest)).status, 202);
  EXPECT_EQ(c.get(blob_path(a, shared.digest)).status, 404);

  // Linked again after a delete, a blob starts unreferenced and counts again.
  push_image(c, a, "v3", cfg1, {shared}, m1);
  push_blob(c, a, shared); // linking twice keeps the count
  refused(shared, m1);
}

} // namespace pier_test

#endif // PIER_TEST_UNIT_REGISTRY_BLOB_DELETE_SCENARIO_HPP
