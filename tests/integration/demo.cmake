# tests/integration/demo.cmake — `make -f Makefile.dist demo` / `demo-stop`
# end to end (issue 8): three real daemons with PostgreSQL on 127.0.40.11-13,
# writes through every node's proxy, kill -9 of the primary's daemon, restart
# and stop with no process left behind. The make runs against this build tree
# (its build step is a no-op once built); pw_build_tree keeps it from running
# beside the packaging test, whose cpack also builds the tree first.
add_test(NAME integration_demo
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/demo_test.sh
          ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR} ${CMAKE_BUILD_TYPE} ${CMAKE_INSTALL_PREFIX})
set_tests_properties(integration_demo PROPERTIES
  LABELS "integration;demo" TIMEOUT 600 RESOURCE_LOCK "ha_cpu;pw_build_tree"
  ENVIRONMENT "PW_PG_BIN_DIR=${PW_PG_BIN_DIR}")
