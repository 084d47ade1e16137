# API integration test (issue 7): the HTTP API, `pgwarden ctl` and a Debian
# HAProxy (option httpchk OPTIONS /primary) against three real daemons with
# PostgreSQL 15 on 127.0.7.11-13. Python drives it, reusing the HA harness
# (tests/integration/ha/cluster.py); it cleans up every process it starts.
find_program(PW_PYTHON3 python3 REQUIRED)
add_test(NAME integration_api_cluster
  COMMAND ${PW_PYTHON3} -u ${CMAKE_CURRENT_LIST_DIR}/api_cluster_test.py)
set_tests_properties(integration_api_cluster PROPERTIES
  LABELS "integration;api" TIMEOUT 900
  ENVIRONMENT "PW_PG_BIN_DIR=${PW_PG_BIN_DIR};PW_BINARY_DIR=${CMAKE_BINARY_DIR};PYTHONPATH=${CMAKE_CURRENT_LIST_DIR}/ha"
  RESOURCE_LOCK ha_cpu)
