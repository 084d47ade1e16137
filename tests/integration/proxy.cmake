# The proxy's integration tests: real PostgreSQL 15 started by the tests as
# the postgres user (AS_POSTGRES). Loopback block 127.0.6.x: proxy_pg uses
# .10-.15, proxy_stream .20-.21 (tests/unit: proxy_session .1-.4, proxy_pause
# .30-.35, proxy_startup_retry .40-.44).
pw_test(it_proxy_pg SOURCES ${CMAKE_CURRENT_LIST_DIR}/proxy_pg_test.cc
        LINK proxy PostgreSQL::PostgreSQL LABELS integration AS_POSTGRES TIMEOUT 600)
target_include_directories(it_proxy_pg PRIVATE ${CMAKE_SOURCE_DIR}/tests)
pw_test(it_proxy_stream SOURCES ${CMAKE_CURRENT_LIST_DIR}/proxy_stream_test.cc
        LINK proxy PostgreSQL::PostgreSQL LABELS integration AS_POSTGRES TIMEOUT 1200)
target_include_directories(it_proxy_stream PRIVATE ${CMAKE_SOURCE_DIR}/tests)
