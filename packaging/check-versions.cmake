# cmake -DROOT=<source dir> -P packaging/check-versions.cmake
# Fails when a packaging file states a version other than the one in CMakeLists.txt.
file(STRINGS "${ROOT}/CMakeLists.txt" line REGEX "^project\\(pier VERSION")
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" version "${line}")
file(READ "${ROOT}/packaging/vcpkg/pier/vcpkg.json" json)
string(JSON vcpkg_version GET "${json}" version)
if(NOT vcpkg_version STREQUAL version)
  message(FATAL_ERROR "vcpkg.json says ${vcpkg_version}, CMakeLists.txt says ${version}")
endif()
file(READ "${ROOT}/packaging/conan/conanfile.py" conan)
if(NOT conan MATCHES "project\\\\\\(pier VERSION")
  message(FATAL_ERROR "conanfile.py no longer reads the version from CMakeLists.txt")
endif()
message(STATUS "packaging versions agree: ${version}")
