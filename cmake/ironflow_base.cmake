# ironflow_base: what the server and the C++ SDK share, built once and linked by both. Status/Result, hex, bounded
# JSON parsing, buffers that wipe themselves, digests, request signing, and the one compiled HTTP module (every
# Boost.Beast/Asio include lives in its .cc files; read_buffer.h is private to http_server.cc and its unit test).
#
# Included by the top-level CMakeLists.txt, and by sdk/cpp/CMakeLists.txt when no installed base is found.
# Installed as the CMake package `ironflow_base` (imported target ironflow::base, headers under
# include/ironflow_base/ with the same relative paths as in src/), so sdk/cpp builds on its own against it.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_filename_component(IRONFLOW_BASE_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/../src" ABSOLUTE)

set(IRONFLOW_BASE_HEADERS
  common/status.h
  common/hex.h
  common/json_nesting.h
  common/bounded_json.h
  crypto/secure_bytes.h
  crypto/digest.h
  runtime/signing.h
  http/http_message.h
  http/http_server.h
  http/client_address.h
  http/request_framing.h
  http/http_client.h
  http/request_retry.h
)
set(IRONFLOW_BASE_SOURCES
  common/status.cc
  common/hex.cc
  common/json_nesting.cc
  common/bounded_json.cc
  crypto/secure_bytes.cc
  crypto/digest.cc
  runtime/signing.cc
  http/http_message.cc
  http/http_server.cc
  http/client_address.cc
  http/request_framing.cc
  http/http_client.cc
  http/request_retry.cc
)
list(TRANSFORM IRONFLOW_BASE_SOURCES PREPEND ${IRONFLOW_BASE_SOURCE_DIR}/)

add_library(ironflow_base STATIC ${IRONFLOW_BASE_SOURCES})
add_library(ironflow::base ALIAS ironflow_base)
set_target_properties(ironflow_base PROPERTIES EXPORT_NAME base OUTPUT_NAME ironflow_base POSITION_INDEPENDENT_CODE ON)
target_compile_features(ironflow_base PUBLIC cxx_std_20)
target_include_directories(ironflow_base PUBLIC
  $<BUILD_INTERFACE:${IRONFLOW_BASE_SOURCE_DIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/ironflow_base>)
target_compile_definitions(ironflow_base PRIVATE BOOST_BEAST_USE_STD_STRING_VIEW)
target_link_libraries(ironflow_base
  PUBLIC nlohmann_json::nlohmann_json OpenSSL::SSL OpenSSL::Crypto
  PRIVATE $<BUILD_INTERFACE:Boost::boost> spdlog::spdlog Threads::Threads)

set(IRONFLOW_BASE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ironflow_base)
install(TARGETS ironflow_base EXPORT ironflow_baseTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(header IN LISTS IRONFLOW_BASE_HEADERS)
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${IRONFLOW_BASE_SOURCE_DIR}/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ironflow_base/${dir})
endforeach()
install(EXPORT ironflow_baseTargets NAMESPACE ironflow:: DESTINATION ${IRONFLOW_BASE_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ironflow_baseConfig.cmake.in
  ${CMAKE_BINARY_DIR}/ironflow_baseConfig.cmake INSTALL_DESTINATION ${IRONFLOW_BASE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ironflow_baseConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ironflow_baseConfig.cmake ${CMAKE_BINARY_DIR}/ironflow_baseConfigVersion.cmake
  DESTINATION ${IRONFLOW_BASE_CMAKE_DIR})
