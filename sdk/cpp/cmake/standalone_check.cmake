# CTest helper: the SDK stands alone. Installs the repository build (BUILD_DIR) into WORK_DIR/prefix, checks that
# the base package came with it, copies SDK_DIR (sdk/cpp) to WORK_DIR/sdk, where no repository surrounds it, and
# configures and builds it there against the installed base (find_package(ironflow_base)).
set(CHECK_REQUIRED SDK_DIR)
include(${CMAKE_CURRENT_LIST_DIR}/check_support.cmake)

run(${CMAKE_COMMAND} ${install_args})
foreach(installed lib/cmake/ironflow_base/ironflow_baseConfig.cmake include/ironflow_base/common/status.h
                  include/ironflow_base/http/http_client.h)
  if(NOT EXISTS ${prefix}/${installed})
    message(FATAL_ERROR "${installed} was not installed")
  endif()
endforeach()
file(GLOB_RECURSE beast_in_headers ${prefix}/include/ironflow_base/*.h)
foreach(header IN LISTS beast_in_headers)
  file(STRINGS ${header} beast REGEX "#include <boost/")
  if(beast)
    message(FATAL_ERROR "${header} includes Boost: the base's installed headers must not")
  endif()
endforeach()

file(COPY ${SDK_DIR}/ DESTINATION ${WORK_DIR}/sdk PATTERN "build*" EXCLUDE)
if(EXISTS ${WORK_DIR}/cmake/ironflow_base.cmake OR EXISTS ${WORK_DIR}/src/common/status.h)
  message(FATAL_ERROR "the copy must not see the repository's sources")
endif()
run(${CMAKE_COMMAND} -S ${WORK_DIR}/sdk -B ${WORK_DIR}/sdk-build -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=Release -DIRONFLOW_SDK_TESTS=OFF)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/sdk-build -j2)
if(NOT EXISTS ${WORK_DIR}/sdk-build/libironflow_sdk.a)
  message(FATAL_ERROR "the SDK library was not built")
endif()
message(STATUS "sdk/cpp built on its own against the installed ironflow_base")
