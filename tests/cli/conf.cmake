# tests/cli/conf.cmake — the `pgwarden` command line end to end: --help,
# --version, usage errors, and `check-config` on every example (exit 0) and
# on a broken file (every error printed, exit 2). Runs the real binary.
add_test(NAME cli_check_config
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_config.sh $<TARGET_FILE:pgwarden> ${CMAKE_SOURCE_DIR} ${PROJECT_VERSION})
set_tests_properties(cli_check_config PROPERTIES LABELS "unit;cli" TIMEOUT 120)
