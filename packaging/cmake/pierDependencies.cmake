# Finds pier's dependencies. Shared by pier's own build and by the installed
# pierConfig.cmake, so that both agree on what pier needs.
include(CMakeFindDependencyMacro)

find_dependency(Threads)
find_dependency(asio)                        # Findasio.cmake: config package, then header
find_dependency(Boost 1.81 CONFIG COMPONENTS url json)
find_dependency(OpenSSL 3)
find_dependency(libxcrypt)                   # Findlibxcrypt.cmake

# Optional: only pier::rocksdb needs it.
find_package(RocksDB CONFIG QUIET)
