# Shared by the CTest helpers install_check.cmake and standalone_check.cmake: checks the required variables,
# empties WORK_DIR, sets `prefix` (WORK_DIR/prefix) and `install_args` (cmake --install BUILD_DIR into it), and
# defines run(), which fails the test with the command's output if it fails.
foreach(var BUILD_DIR WORK_DIR ${CHECK_REQUIRED})
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(install_args --install ${BUILD_DIR} --prefix ${prefix})
if(CONFIG)
  list(APPEND install_args --config ${CONFIG})
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
