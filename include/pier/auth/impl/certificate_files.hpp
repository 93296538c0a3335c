// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_CERTIFICATE_FILES_HPP
#define PIER_AUTH_IMPL_CERTIFICATE_FILES_HPP

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

PIER_BEGIN_NAMESPACE
namespace auth {
namespace detail {

inline std::error_code last_errno() noexcept { return {errno, std::system_category()}; }

} // namespace detail

// A leftover temporary file (or a symbolic link planted there) is removed first, and
// O_EXCL makes sure the file written is the one just created, with the mode given here.
inline result<void> replace_file(std::string const& path, std::string_view data, mode_t mode) {
  std::string const tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int const fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return detail::last_errno();
  std::error_code ec;
  while (!data.empty() && !ec) {
    ssize_t const n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno != EINTR)
      ec = detail::last_errno();
    else if (n > 0)
      data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (!ec && ::fsync(fd) != 0)
    ec = detail::last_errno();
  if (::close(fd) != 0 && !ec)
    ec = detail::last_errno();
  if (!ec && ::rename(tmp.c_str(), path.c_str()) != 0)
    ec = detail::last_errno();
  if (ec) {
    ::unlink(tmp.c_str());
    return ec;
  }
  // The rename is durable once the directory is: a crash then cannot bring back the old
  // file, or no file at all, after the caller was told the new one is there.
  std::size_t const slash = path.rfind('/');
  std::string const dir = slash == std::string::npos ? std::string(".")
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  int const dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return detail::last_errno();
  if (::fsync(dfd) != 0)
    ec = detail::last_errno();
  ::close(dfd);
  return ec;
}

inline result<void> write_certificate_files(certificate_set const& set, std::string const& dir,
                                            bool with_ca_key) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return detail::last_errno();
  std::string const base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  struct file {
    char const* name;
    std::string const* data;
    mode_t mode;
  };
  file const files[] = {{"ca.crt", &set.ca_cert, 0644},
                        {"server.crt", &set.server_cert, 0644},
                        {"server.key", &set.server_key, 0600},
                        {"ca.key", &set.ca_key, 0600}};
  for (file const& f : files) {
    if (f.data == &set.ca_key && !with_ca_key)
      continue;
    if (auto r = replace_file(base + f.name, *f.data, f.mode); !r)
      return r;
  }
  return {};
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_CERTIFICATE_FILES_HPP
