# HA integration tests (issue 5): real daemons, real PostgreSQL 15, three
# nodes on 127.0.<block>.11-13 (one block per test, so they can run in
# parallel). Python drives them; each test cleans up every process it made.
find_program(PW_PYTHON3 python3 REQUIRED)
set(PW_HA_DIR ${CMAKE_CURRENT_LIST_DIR}/ha)
foreach(t bootstrap failover switchover seed_case quorum postmaster_kill sigstop foreign_and_adopt claim_killed sync_mode primary_down_after_bootstrap ui monitoring recover membership proxy_hold_restart five sync_quorum timeline inplace_restart bystander_fork day_two)
  add_test(NAME ha_${t} COMMAND ${PW_PYTHON3} -u ${PW_HA_DIR}/test_${t}.py)
  set_tests_properties(ha_${t} PROPERTIES LABELS "integration;ha" TIMEOUT 600
    ENVIRONMENT "PW_PG_BIN_DIR=${PW_PG_BIN_DIR};PW_BINARY_DIR=${CMAKE_BINARY_DIR};PYTHONPATH=${PW_HA_DIR}"
    RESOURCE_LOCK ha_cpu)
endforeach()
