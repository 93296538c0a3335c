// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_IMPL_RESPONSE_HPP
#define PIER_HTTP_IMPL_RESPONSE_HPP

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

PIER_BEGIN_NAMESPACE
namespace http {

inline result<file_body> open_file(std::string const& path) {
  int const fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::error_code(errno, std::generic_category());
  // The owner closes the descriptor when the last response holding it is gone.
  auto owner = std::shared_ptr<int const>(new int(fd), [](int const* p) {
    ::close(*p);
    delete p;
  });
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return std::error_code(errno, std::generic_category());
  if (!S_ISREG(st.st_mode))
    return std::make_error_code(std::errc::not_supported);
  return file_body{std::move(owner), fd, 0, static_cast<std::uint64_t>(st.st_size)};
}

inline std::uint64_t response::body_size() const noexcept {
  if (auto const* s = std::get_if<std::string>(&body_))
    return s->size();
  if (auto const* f = std::get_if<file_body>(&body_))
    return f->length;
  return 0;
}

inline response response::text(int status, std::string body, std::string_view content_type) {
  response r(status);
  r.fields_.set("Content-Type", std::string(content_type));
  r.body_ = std::move(body);
  return r;
}

inline response response::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

inline response response::file(int status, file_body body, std::string_view content_type) {
  response r(status);
  r.fields_.set("Content-Type", std::string(content_type));
  r.body_ = std::move(body);
  return r;
}

inline response response::file_with_range(request_head const& head, file_body body,
                                          std::string_view content_type) {
  std::uint64_t const size = body.length;
  range_selection const sel =
      head.method() == "GET" ? select_range(head.headers().find("Range"), size) : range_selection{};
  response r(200);
  switch (sel.kind) {
  case range_kind::ignore: r = file(200, std::move(body), content_type); break;
  case range_kind::satisfiable:
    r = file(206, body.slice(sel.range), content_type);
    r.fields_.set("Content-Range", content_range_value(sel.range, size));
    break;
  case range_kind::not_satisfiable:
    r.status_ = 416;
    r.fields_.set("Content-Range", unsatisfied_range_value(size));
    break;
  }
  r.fields_.set("Accept-Ranges", "bytes");
  return r;
}

inline response response::redirect(int status, std::string location) {
  response r(status);
  r.fields_.set("Location", std::move(location));
  return r;
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_IMPL_RESPONSE_HPP
