# Simulation of the production HA agent (node::Agent and its controllers)
# on the Raft simulation harness, with simulated PostgreSQL servers:
# I1-I5, epoch monotonicity and unique timeline ids after every event,
# liveness after healing.
# Every run starts from a random base seed (printed); a failure prints the
# command that replays it.
set(PW_SIM_HA_SEEDS 2000 CACHE STRING "sim_ha seeds per node count under ctest (the sanitizer stage runs fewer)")
add_executable(sim_ha ${CMAKE_CURRENT_LIST_DIR}/sim_ha.cc ${CMAKE_CURRENT_LIST_DIR}/sim_ha_world.cc)
target_link_libraries(sim_ha PRIVATE pw_sim_cluster ha)
pw_sanitized(sim_ha)
add_test(NAME sim_ha COMMAND sim_ha)
set_tests_properties(sim_ha PROPERTIES LABELS sim TIMEOUT 1200 ENVIRONMENT "PW_SIM_HA_SEEDS=${PW_SIM_HA_SEEDS}")
# Seeds that once broke an invariant, replayed exactly (seed:nodes). A
# change of the agent's behaviour may make a seed take another path, so these
# guard the exact scenario only while its timing holds; the random seeds above
# carry the general search.
#   635481766791:5  I4 — a member whose agent was frozen (SIGSTOP) while its
#                   PostgreSQL acknowledged commits gossiped a pre-freeze
#                   position after the holder stopped; the decider counted it
#                   and promoted a lagging member (ha/decider.cc, probe age).
#   680164127357:3/5  I4 — broke a first attempt at waiting before narrowing
#                   the synchronous set: the decider counted a restarted
#                   member's first status (no probe yet, LSN 0) as heard.
#   2456:3, 2469:3, 1966:5  I2 — PostgreSQL started as primary (crash
#                   recovery after a postmaster kill) finished while the agent
#                   was frozen; the fencer was disarmed until the start was
#                   reported, so the server stayed writable past the lease
#                   (issue 21 item 4; found once SimPostgres's start ran on
#                   while the agent was paused).
#   96193433550:5  I3 — the holder released its lock (its PostgreSQL died) and
#                   the decider elected at once; the new primary counted a
#                   cut-off member's silence from its last status, though the
#                   leader kept sending it route grants to the old holder
#                   until the release (ha/member_view.cc all_acked).
#   961919041692:3, 961919042757:3  timeline opened twice — before timelines
#                   were recorded in the cluster state (issue 21 item 1), a
#                   standby was promoted onto the id a lost primary had used.
# (Since synchronous_node_count, odd seeds run ANY k with k from the seed,
# and standbys replicate at their own pace: these seeds no longer replay
# their original runs. Seed 79975945033:5, which found the reinit/last-holder
# liveness case, is reproduced by unit tests instead: ha_decider_test.cc and
# ha_agent_parts_test.cc.)
foreach(case 96193433550:5 635481766791:5 680164127357:3 680164127357:5 2456:3 2469:3 1966:5 961919041692:3 961919042757:3)
  string(REPLACE ":" ";" parts ${case})
  list(GET parts 0 seed)
  list(GET parts 1 nodes)
  add_test(NAME sim_ha_seed_${seed}_n${nodes} COMMAND sim_ha --seed ${seed} --nodes ${nodes})
  set_tests_properties(sim_ha_seed_${seed}_n${nodes} PROPERTIES LABELS sim TIMEOUT 120)
endforeach()
# Self-tests of the checkers: each breaks one protection and the matching
# checker must report it (the test passes on the report).
foreach(b lease fencer route sync)
  add_test(NAME sim_ha_checker_detects_broken_${b} COMMAND sim_ha --break-${b} --seeds 400)
endforeach()
set_tests_properties(sim_ha_checker_detects_broken_lease PROPERTIES LABELS sim TIMEOUT 600
  PASS_REGULAR_EXPRESSION "I1: two unexpired leases")
set_tests_properties(sim_ha_checker_detects_broken_fencer PROPERTIES LABELS sim TIMEOUT 600
  PASS_REGULAR_EXPRESSION "I2: ")
set_tests_properties(sim_ha_checker_detects_broken_route PROPERTIES LABELS sim TIMEOUT 600
  PASS_REGULAR_EXPRESSION "I3: ")
set_tests_properties(sim_ha_checker_detects_broken_sync PROPERTIES LABELS sim TIMEOUT 600
  PASS_REGULAR_EXPRESSION "I4: ")
# Issue 21: a raft leader that is not the lock holder is isolated for five
# leases; the holder must stay writable (no fence), keep its epoch, and the
# reachable members must route to it again within the scaled 1 s bound.
# Failed 5 of 11 seeds before the fix (fences, route gaps of 116-135 ms).
add_test(NAME sim_ha_leader_isolation COMMAND sim_ha --leader-isolation --seeds 300)
set_tests_properties(sim_ha_leader_isolation PROPERTIES LABELS sim TIMEOUT 300)
