# bench/raft/raft.cmake — `bench_raft`: three RaftNodes on loopback with
# fsync on; prints commit latency p50/p99 and proposals/s beside the disk's
# own fsync latency. A benchmark, not a test: run it by hand.
add_executable(bench_raft ${CMAKE_CURRENT_LIST_DIR}/bench_raft_main.cc)
target_link_libraries(bench_raft PRIVATE consensus)
