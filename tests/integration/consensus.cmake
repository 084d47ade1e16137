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
