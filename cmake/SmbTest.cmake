# smb_add_unit_test(NAME name SOURCES a.cc ... LIBS lib ...)
# Builds one doctest executable and registers each TEST_CASE with CTest under label `unit`.
find_package(doctest REQUIRED)
include(${doctest_DIR}/doctest.cmake)

function(smb_add_unit_test)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/unit/doctest_main.cc)
  target_link_libraries(${ARG_NAME} PRIVATE doctest::doctest ${ARG_LIBS})
  doctest_discover_tests(${ARG_NAME} TEST_PREFIX "${ARG_NAME}/" PROPERTIES LABELS unit)
endfunction()
