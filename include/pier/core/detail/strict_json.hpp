// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_DETAIL_STRICT_JSON_HPP
#define PIER_CORE_DETAIL_STRICT_JSON_HPP

// A Boost.JSON DOM parser that, unlike boost::json::parse, rejects objects with duplicate
// keys (Boost keeps the last one silently) and reports nesting beyond a limit as its own
// outcome. Used for everything a client sends that pier must read the way other readers
// would.

#include <pier/config.hpp>

#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

PIER_BEGIN_NAMESPACE

namespace detail::strict_json {

enum class status { ok, invalid, too_deep, duplicate_key };

class handler {
public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  handler(boost::json::storage_ptr sp, unsigned char* temp, std::size_t temp_size)
      : stack_({}, temp, temp_size) {
    stack_.reset(std::move(sp));
  }

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }

  bool on_object_begin(boost::json::error_code&) {
    frames_.push_back({keys_.size(), key_chars_.size()});
    return true;
  }

  bool on_object_end(std::size_t n, boost::json::error_code& ec) {
    frame const f = frames_.back();
    frames_.pop_back();
    if (has_duplicate(f.first_key)) {
      duplicate_ = true;
      ec = boost::json::error::syntax;
      return false;
    }
    keys_.resize(f.first_key);
    key_chars_.resize(f.first_char);
    stack_.push_object(n);
    return true;
  }

  bool on_array_begin(boost::json::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::json::error_code&) {
    stack_.push_array(n);
    return true;
  }

  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack_.push_chars(s);
    key_chars_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t n, boost::json::error_code&) {
    stack_.push_key(s);
    key_chars_.append(s.data(), s.size());
    keys_.push_back({key_chars_.size() - n, n});
    return true;
  }

  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack_.push_string(s);
    return true;
  }

  bool on_number_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_int64(std::int64_t i, boost::json::string_view, boost::json::error_code&) {
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, boost::json::string_view, boost::json::error_code&) {
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, boost::json::string_view, boost::json::error_code&) {
    stack_.push_double(d);
    return true;
  }
  bool on_bool(bool b, boost::json::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(boost::json::error_code&) {
    stack_.push_null();
    return true;
  }
  // Comments are off in the options; these only satisfy the handler concept.
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

  bool saw_duplicate() const noexcept { return duplicate_; }
  boost::json::value release() { return stack_.release(); }

private:
  struct frame {
    std::size_t first_key;
    std::size_t first_char;
  };
  struct key_ref {
    std::size_t offset;
    std::size_t size;
  };

  std::string_view key_at(std::size_t i) const noexcept {
    return std::string_view(key_chars_).substr(keys_[i].offset, keys_[i].size);
  }

  bool has_duplicate(std::size_t first) {
    std::size_t const count = keys_.size() - first;
    // Manifest objects have a handful of keys: pairwise is cheapest. Sorting bounds the
    // cost for hostile objects with many keys.
    if (count <= 16) {
      for (std::size_t i = first; i < keys_.size(); ++i)
        for (std::size_t j = i + 1; j < keys_.size(); ++j)
          if (key_at(i) == key_at(j))
            return true;
      return false;
    }
    scratch_.clear();
    for (std::size_t i = first; i < keys_.size(); ++i)
      scratch_.push_back(key_at(i));
    std::sort(scratch_.begin(), scratch_.end());
    return std::adjacent_find(scratch_.begin(), scratch_.end()) != scratch_.end();
  }

  boost::json::value_stack stack_;
  std::vector<frame> frames_;
  std::vector<key_ref> keys_;
  std::string key_chars_;
  std::vector<std::string_view> scratch_;
  bool duplicate_ = false;
};

/// Parses exactly one JSON document spanning all of `text` into `out`, allocating from
/// `sp`. Only standard JSON in valid UTF-8 is accepted. Throws only `std::bad_alloc`.
inline status parse(std::string_view text, boost::json::value& out, boost::json::storage_ptr sp,
                    std::size_t max_depth) {
  boost::json::parse_options opt;
  opt.max_depth = max_depth;
  try {
    // The parser's scratch space for values under construction; heap only beyond it.
    unsigned char temp[2048];
    boost::json::basic_parser<handler> p(opt, std::move(sp), temp, sizeof temp);
    boost::json::error_code ec;
    std::size_t const n = p.write_some(false, text.data(), text.size(), ec);
    if (ec) {
      if (p.handler().saw_duplicate())
        return status::duplicate_key;
      if (ec == boost::json::error::too_deep)
        return status::too_deep;
      return status::invalid;
    }
    if (n != text.size())
      return status::invalid;
    out = p.handler().release();
    return status::ok;
  } catch (std::bad_alloc const&) {
    throw;
  } catch (std::exception const&) {
    // Boost.JSON reports limits it enforces in containers (sizes) by throwing.
    return status::invalid;
  }
}

} // namespace detail::strict_json

PIER_END_NAMESPACE

#endif // PIER_CORE_DETAIL_STRICT_JSON_HPP
