# Findlibxcrypt: libcrypt from libxcrypt (crypt_r with bcrypt and yescrypt).
#
# Conan's libxcrypt package provides a config package with libxcrypt::libxcrypt; Debian's
# libcrypt-dev provides the header and library only. Defines libxcrypt::libxcrypt.

find_package(libxcrypt CONFIG QUIET)
if(TARGET libxcrypt::libxcrypt)
  set(libxcrypt_FOUND TRUE)
  return()
endif()

find_path(libxcrypt_INCLUDE_DIR NAMES crypt.h)
find_library(libxcrypt_LIBRARY NAMES crypt)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(libxcrypt REQUIRED_VARS libxcrypt_LIBRARY libxcrypt_INCLUDE_DIR)

if(libxcrypt_FOUND AND NOT TARGET libxcrypt::libxcrypt)
  add_library(libxcrypt::libxcrypt UNKNOWN IMPORTED)
  set_target_properties(libxcrypt::libxcrypt PROPERTIES
    IMPORTED_LOCATION "${libxcrypt_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${libxcrypt_INCLUDE_DIR}")
endif()
mark_as_advanced(libxcrypt_INCLUDE_DIR libxcrypt_LIBRARY)
