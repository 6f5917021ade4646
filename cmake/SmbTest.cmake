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

# smb_discovered_test_properties(TARGET target LABELS a b ... [TIMEOUT seconds])
# Sets labels (several) and a timeout on every test doctest_discover_tests() found in
# `target`. doctest's own PROPERTIES option flattens a list of labels into separate
# arguments, so "LABELS a;b" would set neither; this runs at CTest time, after discovery.
function(smb_discovered_test_properties)
  cmake_parse_arguments(ARG "" "TARGET;TIMEOUT" "LABELS" ${ARGN})
  set(script ${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_properties.cmake)
  set(props "LABELS \"${ARG_LABELS}\"")
  if(ARG_TIMEOUT)
    string(APPEND props " TIMEOUT ${ARG_TIMEOUT}")
  endif()
  file(WRITE ${script}
       "if(${ARG_TARGET}_TESTS)\n"
       "  set_tests_properties(\${${ARG_TARGET}_TESTS} PROPERTIES ${props})\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${script})
endfunction()
