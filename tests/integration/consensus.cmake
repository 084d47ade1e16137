# Consensus integration tests: real sockets on the 127.0.3.x loopback block
# (transport, three-node raft, mutual TLS). Owned by the consensus module.
pw_test(integration_consensus_transport
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/consensus_transport_test.cc
  LINK consensus
  LABELS integration
  TIMEOUT 300)
pw_test(integration_consensus_tls
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/consensus_tls_test.cc
  LINK consensus
  LABELS integration
  TIMEOUT 300)
pw_test(integration_consensus_raft
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/consensus_raft_test.cc
  LINK consensus
  LABELS integration
  TIMEOUT 900)
# One RaftNode per process, for the SIGKILL test (a helper, not a test).
add_executable(consensus_node_proc ${CMAKE_CURRENT_LIST_DIR}/consensus_node_proc.cc)
target_link_libraries(consensus_node_proc PRIVATE consensus)
target_include_directories(consensus_node_proc PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_LIST_DIR})
pw_test(integration_consensus_crash
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/consensus_crash_test.cc
  LINK consensus
  LABELS integration
  TIMEOUT 900)
add_dependencies(integration_consensus_crash consensus_node_proc)
target_compile_definitions(integration_consensus_crash PRIVATE
  CONSENSUS_NODE_PROC="$<TARGET_FILE:consensus_node_proc>")
