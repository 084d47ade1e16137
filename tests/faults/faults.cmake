# The fault harness (issue 12, docs/testing.md "Fault harness"): a 3-member
# cluster in network namespaces, faults applied with iptables and signals,
# writers and a split-brain monitor, checkers. Needs root; skipped otherwise.
#
# CI runs the short schedule: every fault once, on the primary, one cluster
# per mode. `make -f Makefile.dist faults` runs longer seeded schedules.
find_program(PW_FAULTS_PYTHON3 python3 REQUIRED)

# The NFQUEUE delayer (200 ms + 10 % loss on a member's egress). Without
# libnetfilter-queue-dev the build still succeeds and the delay_loss fault
# fails with a message naming the package.
pkg_check_modules(NFQ IMPORTED_TARGET libnetfilter_queue)
if(NFQ_FOUND)
  add_executable(pw_fault_delayer ${CMAKE_CURRENT_LIST_DIR}/delayer.c)
  target_link_libraries(pw_fault_delayer PRIVATE PkgConfig::NFQ)
else()
  message(WARNING "libnetfilter_queue not found: the fault harness's delay_loss fault needs it "
                  "(apt-get install libnetfilter-queue-dev, or run scripts/install-deps.sh)")
endif()

foreach(mode async sync)
  # --deadline stops starting cycles well before ctest's TIMEOUT, so the
  # harness always gets to clean up (ctest's timeout kill would not let it).
  add_test(NAME faults_${mode}
           COMMAND ${PW_FAULTS_PYTHON3} -u ${CMAKE_CURRENT_LIST_DIR}/run_faults.py --ci --mode ${mode}
                   --deadline 300 --report ${CMAKE_BINARY_DIR}/faults-ci-${mode}.md)
  set_tests_properties(faults_${mode} PROPERTIES LABELS "integration;faults" TIMEOUT 480
    RESOURCE_LOCK ha_cpu SKIP_RETURN_CODE 77
    ENVIRONMENT "PW_PG_BIN_DIR=${PW_PG_BIN_DIR};PW_BINARY_DIR=${CMAKE_BINARY_DIR}")
endforeach()
