# Conan 2 recipe for pier (header-only). Build the package from a checkout with
#   conan create packaging/conan --build=missing
# The version is read from the project() line of the top-level CMakeLists.txt, and the
# package is what pier's own `cmake --install` produces, so Conan users get the same
# pierConfig.cmake (and pier::pier / pier::rocksdb targets) as everyone else.
import os
import re

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load


class PierConan(ConanFile):
    name = "pier"
    description = "Container-image registry as a header-only C++20 library"
    license = "Apache-2.0"
    url = "https://github.com/pier-registry/pier"
    topics = ("oci", "container", "registry", "header-only", "asio", "coroutines")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_rocksdb": [True, False]}
    default_options = {"with_rocksdb": True}
    no_copy_source = True

    def _root(self):
        return os.path.join(self.recipe_folder, "..", "..")

    def set_version(self):
        cmakelists = load(self, os.path.join(self._root(), "CMakeLists.txt"))
        self.version = re.search(r"project\(pier VERSION ([0-9]+\.[0-9]+\.[0-9]+)", cmakelists).group(1)

    def export_sources(self):
        for pattern in ("CMakeLists.txt", "LICENSE", "include/*", "packaging/cmake/*"):
            copy(self, pattern, self._root(), self.export_sources_folder)

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # Headers of all of these appear in pier's headers: consumers need them too.
        self.requires("asio/[>=1.22 <2]", transitive_headers=True)
        self.requires("boost/[>=1.81 <2]", transitive_headers=True, transitive_libs=True)
        self.requires("openssl/[>=3 <4]", transitive_headers=True, transitive_libs=True)
        self.requires("libxcrypt/[>=4.4 <5]", transitive_headers=True, transitive_libs=True)
        if self.options.with_rocksdb:
            self.requires("rocksdb/[>=7.8 <10]", transitive_headers=True, transitive_libs=True)

    def validate(self):
        from conan.tools.build import check_min_cppstd
        check_min_cppstd(self, 20)

    def generate(self):
        CMakeToolchain(self).generate()
        CMakeDeps(self).generate()

    def build(self):
        pass  # header-only: nothing to compile

    def package(self):
        cmake = CMake(self)
        cmake.configure(variables={"PIER_BUILD_TESTS": "OFF", "PIER_BUILD_EXAMPLES": "OFF",
                                   "PIER_INSTALL": "ON"})
        cmake.install()

    def package_id(self):
        self.info.clear()

    def package_info(self):
        # Use pier's own installed pierConfig.cmake rather than a generated one.
        self.cpp_info.set_property("cmake_find_mode", "none")
        self.cpp_info.builddirs.append(os.path.join("share", "cmake", "pier"))
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
