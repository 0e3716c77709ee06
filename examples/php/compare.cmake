# Runs the PHP shop example and compares its stdout byte for byte with the expected output.
#   cmake -DPHP=php -DLIB=libupline.so -DPLAN=four-tier.json -DSCRIPT=shop.php -DEXPECTED=expected_output.txt -P compare.cmake
# PHP warnings go to stderr, and any stderr output fails the test too.
foreach(var PHP LIB PLAN SCRIPT EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compare.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(
  COMMAND ${PHP} -d ffi.enable=1 -d error_reporting=-1 -d display_errors=stderr ${SCRIPT} ${LIB} ${PLAN}
  OUTPUT_VARIABLE actual
  ERROR_VARIABLE errors
  RESULT_VARIABLE rc)
# message(NOTICE) prints text as is; FATAL_ERROR would re-wrap it.
if(NOT rc EQUAL 0)
  message(NOTICE "--- stdout ---\n${actual}--- stderr ---\n${errors}")
  message(FATAL_ERROR "php exited with ${rc}")
endif()
if(NOT errors STREQUAL "")
  message(NOTICE "${errors}")
  message(FATAL_ERROR "php wrote to stderr")
endif()

file(READ ${EXPECTED} expected)
if(actual STREQUAL expected)
  return()
endif()
set(actual_file ${CMAKE_CURRENT_BINARY_DIR}/php-shop.actual.txt)
file(WRITE ${actual_file} "${actual}")
find_program(DIFF diff)
if(DIFF)
  execute_process(COMMAND ${DIFF} -u ${EXPECTED} ${actual_file} OUTPUT_VARIABLE delta)
else()
  set(delta "--- actual ---\n${actual}")
endif()
message(NOTICE "${delta}")
message(FATAL_ERROR "output differs from ${EXPECTED} (actual output: ${actual_file})")
