# Simulation of the HA layer (cluster state, decider, lease) on the Raft
# simulation harness: I1, I5 and epoch monotonicity after every event.
add_executable(sim_ha ${CMAKE_CURRENT_LIST_DIR}/sim_ha.cc)
target_link_libraries(sim_ha PRIVATE pw_sim_cluster node)
add_test(NAME sim_ha COMMAND sim_ha)
set_tests_properties(sim_ha PROPERTIES LABELS sim TIMEOUT 900)
# Self-test of the checker: with a decider that waits only half the lease,
# the same simulation must report an I1 violation (the test passes on it).
add_test(NAME sim_ha_checker_detects_broken_lease COMMAND sim_ha --break-lease)
set_tests_properties(sim_ha_checker_detects_broken_lease PROPERTIES LABELS sim TIMEOUT 300
  ENVIRONMENT "PW_SIM_HA_SEEDS=300" PASS_REGULAR_EXPRESSION "I1: two unexpired leases")
