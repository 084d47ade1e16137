# Proves the module layering is enforced by the build: a translation unit in
# the proxy library that includes a pgctl header must fail to compile.
# The probe target is excluded from `all`; the test builds it and expects the
# compiler's "No such file" for the forbidden header.
add_library(layering_probe STATIC EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/proxy_includes_pgctl.cc)
target_link_libraries(layering_probe PRIVATE proxy)
# Positive control: the same include compiles in a target that links pgctl,
# so the failure above can only come from the layering.
add_library(layering_control STATIC EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/node_includes_pgctl.cc)
target_link_libraries(layering_control PRIVATE node)
add_test(NAME layering_control_compiles
  COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target layering_control)
set_tests_properties(layering_control_compiles PROPERTIES LABELS unit)
add_test(NAME layering_lower_modules_isolated
  COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target layering_probe)
set_tests_properties(layering_lower_modules_isolated PROPERTIES
  LABELS unit PASS_REGULAR_EXPRESSION "pgctl/data_dir\\.h: No such file or directory")
