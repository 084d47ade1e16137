# Simulation tests of the Raft core (tests/sim/). sim_consensus has its own
# main so a failing seed replays as `sim_consensus --seed S --nodes N`; every
# run starts from a random base seed (printed; `--base B` reruns it), as
# sim_ha does. sim_consensus_scenarios holds the targeted Catch2 scenarios on
# the same harness.
add_library(pw_sim_cluster STATIC ${CMAKE_CURRENT_LIST_DIR}/sim_cluster.cc)
target_link_libraries(pw_sim_cluster PUBLIC consensus)
target_include_directories(pw_sim_cluster PUBLIC ${CMAKE_CURRENT_LIST_DIR})

add_executable(sim_consensus ${CMAKE_CURRENT_LIST_DIR}/sim_consensus.cc)
target_link_libraries(sim_consensus PRIVATE pw_sim_cluster)
pw_sanitized(sim_consensus)
set(PW_SIM_SEEDS 10000 CACHE STRING "sim_consensus seeds under ctest (the sanitizer stage runs fewer)")
add_test(NAME sim_consensus COMMAND sim_consensus)
set_tests_properties(sim_consensus PROPERTIES LABELS sim TIMEOUT 900 ENVIRONMENT "PW_SIM_SEEDS=${PW_SIM_SEEDS}")
# The same chaos with a real LogStore per node (on tmpfs when available),
# model-checked against the simulated disk at every restart.
add_test(NAME sim_consensus_storage COMMAND sim_consensus --storage)
set_tests_properties(sim_consensus_storage PROPERTIES LABELS sim TIMEOUT 900
                     ENVIRONMENT "PW_SIM_SEEDS=300")

pw_test(sim_consensus_scenarios SOURCES ${CMAKE_CURRENT_LIST_DIR}/scenarios_test.cc
        LINK pw_sim_cluster LABELS sim TIMEOUT 300)
pw_test(sim_membership_scenarios SOURCES ${CMAKE_CURRENT_LIST_DIR}/membership_scenarios_test.cc
        LINK pw_sim_cluster LABELS sim TIMEOUT 300)
