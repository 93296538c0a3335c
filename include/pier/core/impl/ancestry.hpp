// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_ANCESTRY_HPP
#define PIER_CORE_IMPL_ANCESTRY_HPP

#include <pier/core/detail/rfc3339.hpp>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <functional>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

PIER_BEGIN_NAMESPACE

namespace detail {

class ancestry_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.ancestry"; }

  std::string message(int ev) const override {
    switch (static_cast<ancestry_error>(ev)) {
    case ancestry_error::invalid_json: return "image JSON is not a JSON object";
    case ancestry_error::invalid_id: return "v1 image id must be 64 lower-case hex characters";
    case ancestry_error::invalid_parent:
      return "v1 image parent must be an image id: 64 lower-case hex characters";
    case ancestry_error::invalid_created: return "image created time is not an RFC 3339 date-time";
    case ancestry_error::invalid_size: return "v1 image Size must be an integer from 0 to 2^63-1";
    case ancestry_error::invalid_field: return "a v1 image member has the wrong JSON type";
    case ancestry_error::duplicate_id: return "two images of the set have the same id";
    case ancestry_error::unknown_image: return "image not known to the registry";
    case ancestry_error::missing_parent:
      return "the parent of an image is not known to the registry";
    case ancestry_error::cycle: return "image parents form a cycle";
    case ancestry_error::invalid_config:
      return "image config needs rootfs.type \"layers\", rootfs.diff_ids of digests and "
             "history entries that are objects";
    case ancestry_error::layer_count_mismatch:
      return "the numbers of layers, rootfs.diff_ids and non-empty history entries differ";
    }
    return "unknown ancestry error";
  }

  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<ancestry_error>(ev)) {
    case ancestry_error::unknown_image:
    case ancestry_error::missing_parent:
      return {static_cast<int>(oci_error::blob_unknown), oci_category()};
    default: return {static_cast<int>(oci_error::manifest_invalid), oci_category()};
    }
  }
};

namespace v1_json {

// Null stands for an absent member, as Go's encoding/json treats it.
inline bool read_string(boost::json::value const& v, std::string& out) {
  if (v.is_null()) {
    out.clear();
    return true;
  }
  if (!v.is_string())
    return false;
  out = std::string_view(v.get_string());
  return true;
}

inline bool read_object_or_null(boost::json::value const& v, boost::json::value& out) {
  if (!v.is_null() && !v.is_object())
    return false;
  out = v;
  return true;
}

inline bool read_size(boost::json::value const& v, std::optional<std::int64_t>& out) {
  // Boost.JSON keeps every integer that fits in int64 as int64: a uint64 is too large,
  // and a double ("1e3", "1.5") is not what Go's int64 accepts either.
  if (v.is_null()) {
    out.reset();
    return true;
  }
  if (!v.is_int64() || v.get_int64() < 0)
    return false;
  out = v.get_int64();
  return true;
}

// Go's zero time.Time, which Docker writes for history entries without `created`.
inline constexpr std::string_view zero_time = "0001-01-01T00:00:00Z";

// The gzip stream Docker's registry stores for empty layers; hashing it gives
// gzipped_empty_tar_digest (checked in the unit test).
inline constexpr std::array<unsigned char, 32> gzipped_empty_tar = {
    31,  139, 8, 0, 0, 9, 110, 136, 0,  255, 98,  24,  5, 163, 96, 20,
    140, 88,  0, 8, 0, 0, 255, 255, 46, 175, 181, 239, 0, 4,   0,  0};

struct history_step {
  std::string created;
  std::string author;
  std::string created_by;
  std::string comment;
  bool empty_layer = false;
};

inline bool read_history_step(boost::json::value const& v, history_step& out) {
  if (!v.is_object())
    return false;
  for (auto const& member : v.get_object()) {
    std::string_view const key = member.key();
    boost::json::value const& value = member.value();
    bool ok = true;
    if (key == "created")
      ok = read_string(value, out.created);
    else if (key == "author")
      ok = read_string(value, out.author);
    else if (key == "created_by")
      ok = read_string(value, out.created_by);
    else if (key == "comment")
      ok = read_string(value, out.comment);
    else if (key == "empty_layer") {
      ok = value.is_bool() || value.is_null();
      out.empty_layer = value.is_bool() && value.get_bool();
    }
    if (!ok)
      return false;
  }
  return true;
}

} // namespace v1_json

} // namespace detail

inline std::error_category const& ancestry_category() noexcept {
  static detail::ancestry_category_impl const instance;
  return instance;
}

constexpr bool is_v1_image_id(std::string_view id) noexcept {
  if (id.size() != 64)
    return false;
  for (char c : id) {
    if (!detail::digest_grammar::is_lower_hex(c))
      return false;
  }
  return true;
}

inline result<v1_image> parse_v1_image(boost::json::object const& json) {
  namespace j = detail::v1_json;
  v1_image image;
  for (auto const& member : json) {
    std::string_view const key = member.key();
    boost::json::value const& v = member.value();
    if (key == "id") {
      if (!j::read_string(v, image.id))
        return ancestry_error::invalid_id;
    } else if (key == "parent") {
      if (!j::read_string(v, image.parent))
        return ancestry_error::invalid_parent;
    } else if (key == "created") {
      if (!j::read_string(v, image.created))
        return ancestry_error::invalid_created;
    } else if (key == "Size") {
      if (!j::read_size(v, image.size))
        return ancestry_error::invalid_size;
    } else if (key == "container_config" || key == "config") {
      if (!j::read_object_or_null(v, key == "config" ? image.config : image.container_config))
        return ancestry_error::invalid_field;
    } else if (key == "throwaway") {
      if (!v.is_bool() && !v.is_null())
        return ancestry_error::invalid_field;
      image.throwaway = v.is_bool() && v.get_bool();
    } else {
      std::string* text = key == "comment"          ? &image.comment
                          : key == "author"         ? &image.author
                          : key == "container"      ? &image.container
                          : key == "docker_version" ? &image.docker_version
                          : key == "architecture"   ? &image.architecture
                          : key == "variant"        ? &image.variant
                          : key == "os"             ? &image.os
                          : key == "checksum"       ? &image.checksum
                                                    : nullptr;
      if (text == nullptr)
        image.extra.insert_or_assign(key, v);
      else if (!j::read_string(v, *text))
        return ancestry_error::invalid_field;
    }
  }
  if (!is_v1_image_id(image.id))
    return ancestry_error::invalid_id;
  if (!image.parent.empty() && !is_v1_image_id(image.parent))
    return ancestry_error::invalid_parent;
  if (!image.created.empty() && !detail::rfc3339::is_date_time(image.created))
    return ancestry_error::invalid_created;
  return image;
}

inline result<v1_image> parse_v1_image(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value const v = boost::json::parse(json, ec);
  if (ec || !v.is_object())
    return ancestry_error::invalid_json;
  return parse_v1_image(v.get_object());
}

inline boost::json::object to_json(v1_image const& image) {
  boost::json::object o;
  o.reserve(16 + image.extra.size());
  auto put = [&o](std::string_view key, std::string const& text) {
    if (!text.empty())
      o.emplace(key, std::string_view(text));
  };
  o.emplace("id", std::string_view(image.id));
  put("parent", image.parent);
  put("comment", image.comment);
  put("created", image.created);
  put("container", image.container);
  if (!image.container_config.is_null())
    o.emplace("container_config", image.container_config);
  put("docker_version", image.docker_version);
  put("author", image.author);
  if (!image.config.is_null())
    o.emplace("config", image.config);
  put("architecture", image.architecture);
  put("variant", image.variant);
  put("os", image.os);
  if (image.size)
    o.emplace("Size", *image.size);
  put("checksum", image.checksum);
  if (image.throwaway)
    o.emplace("throwaway", true);
  for (auto const& member : image.extra)
    o.emplace(member.key(), member.value()); // a known member set above wins
  return o;
}

inline std::string serialize(v1_image const& image) {
  return boost::json::serialize(to_json(image));
}

template <class Lookup>
requires std::is_invocable_r_v<v1_image const*, Lookup&, std::string_view>
    result<std::vector<std::string>> ancestry(std::string_view id, Lookup&& lookup) {
  v1_image const* image = std::invoke(lookup, id);
  if (image == nullptr)
    return ancestry_error::unknown_image;
  std::vector<std::string> chain;
  // Views into the images' own ids, which `lookup` keeps alive for the whole walk. Checking
  // each image's id (not only its parent key) also stops a lookup that answers with an
  // image other than the one asked for.
  std::unordered_set<std::string_view> seen;
  for (;;) {
    if (!seen.insert(image->id).second)
      return ancestry_error::cycle;
    chain.push_back(image->id);
    if (image->parent.empty())
      return chain;
    v1_image const* const parent = std::invoke(lookup, std::string_view(image->parent));
    if (parent == nullptr)
      return ancestry_error::missing_parent;
    image = parent;
  }
}

inline result<std::vector<std::string>> ancestry(std::string_view id,
                                                 std::span<v1_image const> images) {
  std::unordered_map<std::string_view, v1_image const*> index;
  index.reserve(images.size());
  for (v1_image const& image : images) {
    if (!index.emplace(image.id, &image).second)
      return ancestry_error::duplicate_id;
  }
  return ancestry(id, [&index](std::string_view key) -> v1_image const* {
    auto const it = index.find(key);
    return it == index.end() ? nullptr : it->second;
  });
}

inline digest chain_id(digest_view parent, digest_view diff_id) {
  if (parent.empty())
    return digest(diff_id);
  hasher h;
  h.update(parent.str());
  h.update(" ");
  h.update(diff_id.str());
  return h.finish();
}

inline std::vector<digest> chain_ids(std::span<digest const> diff_ids) {
  std::vector<digest> out;
  out.reserve(diff_ids.size());
  for (digest const& d : diff_ids)
    out.push_back(chain_id(out.empty() ? digest_view() : out.back().view(), d));
  return out;
}

inline std::span<std::byte const> gzipped_empty_tar() noexcept {
  return std::as_bytes(std::span(detail::v1_json::gzipped_empty_tar));
}

inline result<std::vector<v1_history_entry>> v1_history_from_v2(std::string_view config_json,
                                                                std::span<digest const> layers) {
  namespace j = detail::v1_json;
  boost::system::error_code ec;
  boost::json::value const root = boost::json::parse(config_json, ec);
  if (ec || !root.is_object())
    return ancestry_error::invalid_json;
  boost::json::object const& config = root.get_object();

  boost::json::value const* const rootfs = config.if_contains("rootfs");
  if (rootfs == nullptr || !rootfs->is_object())
    return ancestry_error::invalid_config;
  boost::json::value const* const type = rootfs->get_object().if_contains("type");
  if (type == nullptr || !type->is_string() || type->get_string() != "layers")
    return ancestry_error::invalid_config;
  // Docker's registry derives different ids for Windows base layers; refuse rather than
  // serve ids that disagree with it.
  if (boost::json::value const* base = rootfs->get_object().if_contains("base_layer");
      base != nullptr && !base->is_null())
    return ancestry_error::invalid_config;

  std::vector<digest> diff_ids;
  if (boost::json::value const* list = rootfs->get_object().if_contains("diff_ids");
      list != nullptr && !list->is_null()) {
    if (!list->is_array())
      return ancestry_error::invalid_config;
    for (boost::json::value const& item : list->get_array()) {
      if (!item.is_string())
        return ancestry_error::invalid_config;
      result<digest> d = parse_digest(std::string_view(item.get_string()));
      if (!d)
        return ancestry_error::invalid_config;
      diff_ids.push_back(std::move(*d));
    }
  }
  if (diff_ids.size() != layers.size())
    return ancestry_error::layer_count_mismatch;

  std::vector<j::history_step> steps;
  if (boost::json::value const* list = config.if_contains("history");
      list != nullptr && !list->is_null()) {
    if (!list->is_array())
      return ancestry_error::invalid_config;
    for (boost::json::value const& item : list->get_array()) {
      if (!j::read_history_step(item, steps.emplace_back()))
        return ancestry_error::invalid_config;
    }
  }
  if (steps.empty()) {
    if (layers.empty())
      return ancestry_error::invalid_config; // nothing at all to serve as a v1 image
    steps.resize(layers.size());
  }
  std::size_t non_empty = 0;
  for (j::history_step const& s : steps)
    non_empty += s.empty_layer ? 0 : 1;
  if (non_empty != layers.size())
    return ancestry_error::layer_count_mismatch;

  std::vector<digest> const chains = chain_ids(diff_ids);
  digest const empty_tar(*parse_digest_view(gzipped_empty_tar_digest));

  std::vector<v1_history_entry> out;
  out.reserve(steps.size());
  std::string parent;
  std::size_t next_layer = 0;
  digest chain;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    j::history_step const& step = steps[i];
    bool const top = i + 1 == steps.size();
    digest blob = empty_tar;
    if (!step.empty_layer) {
      blob = layers[next_layer];
      chain = chains[next_layer];
      ++next_layer;
    }

    hasher h;
    h.update(blob.encoded());
    h.update(" ");
    h.update(parent);
    if (top) {
      // The config bytes make the top id differ between images that share all layers.
      h.update(" ");
      h.update(config_json);
    }
    std::string id(h.finish().encoded());

    v1_image image;
    if (top) {
      boost::json::object o = config;
      for (std::string_view key : {"rootfs", "history", "id", "parent", "throwaway"})
        o.erase(key);
      o.emplace("id", std::string_view(id));
      if (!parent.empty())
        o.emplace("parent", std::string_view(parent));
      if (step.empty_layer)
        o.emplace("throwaway", true);
      result<v1_image> r = parse_v1_image(o);
      if (!r)
        return r.error();
      image = std::move(*r);
    } else {
      image.id = id;
      image.parent = parent;
      image.created = step.created.empty() ? std::string(j::zero_time) : step.created;
      if (!detail::rfc3339::is_date_time(image.created))
        return ancestry_error::invalid_created;
      image.author = step.author;
      image.comment = step.comment;
      image.container_config = boost::json::object{{"Cmd", boost::json::array{step.created_by}}};
      image.throwaway = step.empty_layer;
    }
    out.push_back(v1_history_entry{std::move(image), std::move(blob), chain});
    parent = std::move(id);
  }
  return out;
}

PIER_END_NAMESPACE

#endif // PIER_CORE_IMPL_ANCESTRY_HPP
