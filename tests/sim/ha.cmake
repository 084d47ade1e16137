# Simulation of the production HA agent (node::Agent and its controllers)
# on the Raft simulation harness, with simulated PostgreSQL servers:
# I1-I5, epoch monotonicity and unique timeline ids after every event,
# liveness after healing where a failover rule requires it (hosts lost for
# good in a quarter of the seeds: tests/sim/sim_ha_rules.h).
# Every run starts from a random base seed (printed); a failure prints the
# command that replays it.
set(PW_SIM_HA_SEEDS 2000 CACHE STRING "sim_ha seeds per node count under ctest (the sanitizer stage runs fewer)")
add_executable(sim_ha ${CMAKE_CURRENT_LIST_DIR}/sim_ha.cc ${CMAKE_CURRENT_LIST_DIR}/sim_ha_world.cc
  ${CMAKE_CURRENT_LIST_DIR}/sim_ha_rules.cc)
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
#   655766885639:5  liveness — the primary lost for good, the only member
#                   left with data the DR one (tagged nofailover): the advice
#                   now says how to lift the tag, and the simulated operator
#                   does so (restart in place), then overrides.
#   629783845126:5  liveness — a primary promoted onto a new timeline died
#                   before any standby followed it and was removed: only
#                   it had that timeline, failover waited for good (member
#                   remove now refuses it while no primary runs).
#   408582472441:5  liveness — the first run with member removals in
#                   synchronous seeds: the last primary, released with the
#                   committed set empty, was removed; only it could be
#                   promoted (membership_controller.cc refuses it now).
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
foreach(case 96193433550:5 408582472441:5 629783845126:5 655766885639:5 635481766791:5 680164127357:3 680164127357:5 2456:3 2469:3 1966:5 961919041692:3 961919042757:3)
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
# Issue 21: hosts lost for good (crashed, never restarted, data gone), see
# run_loss in sim_ha.cc. primary: either mode, 3 and 5 nodes, a failover
# must happen within five leases; sync-nonsync: 5 nodes, ANY 1, the primary
# and a standby outside C lost, a failover must happen; sync-only: the
# primary and C's only member (holding the newest acknowledged writes)
# lost, no automatic failover, then `failover --accept-data-loss` must bring
# a primary back, and writes acknowledged after it are checked (I4).
foreach(kind primary sync-nonsync sync-only)
  add_test(NAME sim_ha_loss_${kind} COMMAND sim_ha --loss ${kind} --seeds 40)
  set_tests_properties(sim_ha_loss_${kind} PROPERTIES LABELS sim TIMEOUT 300)
endforeach()
# Their self-tests: a decider that never fails over must make the liveness
# check fail and name the rule that required the failover (random seeds,
# and each mode's loss scenario); deciders that drop the synchronous rule at
# the loss must make "no automatic failover" fail.
add_test(NAME sim_ha_checker_detects_no_failover COMMAND sim_ha --break-failover --seeds 400)
set_tests_properties(sim_ha_checker_detects_no_failover PROPERTIES LABELS sim TIMEOUT 600
  PASS_REGULAR_EXPRESSION "liveness: [^\n]*required by: ")
add_test(NAME sim_ha_checker_detects_no_failover_async_loss COMMAND sim_ha --loss primary --break-failover --seeds 2)
set_tests_properties(sim_ha_checker_detects_no_failover_async_loss PROPERTIES LABELS sim TIMEOUT 300
  PASS_REGULAR_EXPRESSION "lost for good; required by: asynchronous mode")
add_test(NAME sim_ha_checker_detects_no_failover_sync_loss COMMAND sim_ha --loss sync-nonsync --break-failover --seeds 2)
set_tests_properties(sim_ha_checker_detects_no_failover_sync_loss PROPERTIES LABELS sim TIMEOUT 300
  PASS_REGULAR_EXPRESSION "lost for good; required by: synchronous mode \\(synchronous_node_count 1\\)")
add_test(NAME sim_ha_checker_detects_broken_sync_rule COMMAND sim_ha --loss sync-only --break-sync-rule --seeds 3)
set_tests_properties(sim_ha_checker_detects_broken_sync_rule PROPERTIES LABELS sim TIMEOUT 300
  PASS_REGULAR_EXPRESSION "automatic failover to [^\n]* while the synchronous rule forbids it")
# The accepted loss is forgiven only for writes acknowledged before the
# override: PostgreSQL acknowledging without its standby once the override
# committed must make I4 fail at the next failover, naming such a write.
add_test(NAME sim_ha_checker_detects_loss_after_override COMMAND sim_ha --loss sync-only --break-after-override --seeds 3)
set_tests_properties(sim_ha_checker_detects_loss_after_override PROPERTIES LABELS sim TIMEOUT 300
  PASS_REGULAR_EXPRESSION "I4: [^\n]*acknowledged after an operator's override")
