# pgctl's integration tests: real PostgreSQL 15 (PW_PG_BIN_DIR), run as the
# postgres OS user (AS_POSTGRES). Loopback block 127.0.4.x, PostgreSQL on
# port 15432 of a distinct address per node, so the tests run in parallel:
# primary .11 (frozen .15), replication .12/.13, inspect .14, rewind .21/.22, pdeathsig .31,
# clone liveness .41/.42, clone failure .52 cloning from .51 (nothing listens there),
# access (parameters, hba_extra, superuser password) .61; timeline floor 127.0.48.21-.23
# (the block reserved for the timeline work).
set(PGCTL_IT ${CMAKE_CURRENT_LIST_DIR})

pw_test(it_pgctl_primary SOURCES ${PGCTL_IT}/pgctl_primary_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 300)
pw_test(it_pgctl_replication SOURCES ${PGCTL_IT}/pgctl_replication_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 300)
pw_test(it_pgctl_rewind SOURCES ${PGCTL_IT}/pgctl_rewind_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 300)
pw_test(it_pgctl_inspect SOURCES ${PGCTL_IT}/pgctl_inspect_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 300)
add_executable(pgctl_owner_helper ${PGCTL_IT}/pgctl_owner_helper.cc)
target_link_libraries(pgctl_owner_helper PRIVATE pgctl pw_test_support)
pw_test(it_pgctl_pdeathsig SOURCES ${PGCTL_IT}/pgctl_pdeathsig_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 300)
target_compile_definitions(it_pgctl_pdeathsig PRIVATE
  PGCTL_OWNER_HELPER="$<TARGET_FILE:pgctl_owner_helper>")
add_dependencies(it_pgctl_pdeathsig pgctl_owner_helper)
pw_test(it_pgctl_clone_liveness SOURCES ${PGCTL_IT}/pgctl_clone_liveness_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 900)
pw_test(it_pgctl_clone_failure SOURCES ${PGCTL_IT}/pgctl_clone_failure_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 300)
pw_test(it_pgctl_timeline SOURCES ${PGCTL_IT}/pgctl_timeline_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 300)
pw_test(it_pgctl_access SOURCES ${PGCTL_IT}/pgctl_access_test.cc
        LINK pgctl LABELS integration AS_POSTGRES TIMEOUT 300)
set_property(TEST it_pgctl_pdeathsig APPEND PROPERTY ENVIRONMENT "PW_AS_POSTGRES_HELPERS=pgctl_owner_helper")
