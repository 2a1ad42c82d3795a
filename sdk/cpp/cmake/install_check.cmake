# CTest helper: installs the SDK from BUILD_DIR into WORK_DIR/prefix and configures + builds the project in
# CONSUMER_DIR (examples/) against it with find_package(ironflow), as an app outside the repository would.
set(CHECK_REQUIRED CONSUMER_DIR)
include(${CMAKE_CURRENT_LIST_DIR}/check_support.cmake)

run(${CMAKE_COMMAND} ${install_args})
if(NOT EXISTS ${prefix}/include/ironflow/sdk.h)
  message(FATAL_ERROR "sdk.h was not installed")
endif()
file(GLOB_RECURSE boost_headers ${prefix}/include/boost/*)
if(boost_headers)
  message(FATAL_ERROR "Boost headers must not be installed with the SDK")
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer -j1)
message(STATUS "installed SDK found with find_package(ironflow); examples built against it")
