# vcpkg overlay port for pier, built from the checkout this port lives in:
#   vcpkg install pier --overlay-ports=<checkout>/packaging/vcpkg
# It runs pier's own install rules, so vcpkg users get the same pierConfig.cmake.
set(VCPKG_BUILD_TYPE release) # header-only: one configuration is enough
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS -DPIER_BUILD_TESTS=OFF -DPIER_BUILD_EXAMPLES=OFF -DPIER_INSTALL=ON)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME pier CONFIG_PATH share/cmake/pier)

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib" "${CURRENT_PACKAGES_DIR}/debug"
                    "${CURRENT_PACKAGES_DIR}/share/doc")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
