// consensus/transport.h — raft peer-to-peer transport on the control
// thread's event_base. Carries opaque frames (the codec gives them meaning)
// between the members of one cluster:
//
// * listens on the node's own address and raft port (never 0.0.0.0 unless
//   that is the configured address);
// * keeps one outbound connection per peer, reconnecting with a jittered
//   back-off (backoff_min_ms doubling to backoff_max_ms), and sends every
//   frame for that peer on it; frames from a peer arrive on the connection
//   the peer dialed (inbound). Each direction of a pair thus has exactly one
//   path, with no tie-breaking between simultaneous dials;
// * a handshake on every connection (protocol version, cluster name, member
//   id and name); a mismatch closes it and is logged once per peer and
//   distinct reason, not on every retry;
// * with TLS options, mutual TLS: both sides present a certificate signed by
//   the cluster CA, and each checks that the other's certificate names the
//   member it claims to be;
// * per-peer output bounded in bytes: a frame that does not fit is dropped
//   and counted (Raft retransmits), as are frames for a peer not connected;
// * zero-length keepalive frames on idle outbound connections; an inbound
//   connection silent for idle_timeout_ms is closed (dead peer, no FIN).
//
// All methods run on the event_base thread. Do not destroy the Transport
// from inside one of its callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "consensus/connection.h"
#include "consensus/raft_node.h"

struct event;
struct event_base;
struct evconnlistener;

namespace pw::consensus {

class TlsContext;

struct TransportOptions {
  std::string cluster_name;
  uint64_t self_id = 0;
  std::vector<Peer> peers;                // every member, self included
  uint64_t max_frame_size = 16ull << 20;  // whole frame incl. length; larger closes the connection
  uint64_t max_queue_bytes = 8ull << 20;  // per peer; beyond it frames are dropped
  TlsOptions tls;
  int64_t backoff_min_ms = 50;
  int64_t backoff_max_ms = 2000;
  int64_t handshake_timeout_ms = 5000;  // connect + TLS + handshake
  int64_t keepalive_ms = 1000;          // idle outbound sends an empty frame
  int64_t idle_timeout_ms = 10000;      // silent inbound is closed
  /// This cluster's id (identity.h; 0 = not known yet). A peer whose
  /// handshake carries another non-zero id is refused (cluster_id_mismatch);
  /// while it is 0, the formation check decides (set_formation_check).
  uint64_t cluster_id = 0;
};

// PeerStats (the per-peer counters) is declared in raft_node.h.

class Transport : private ConnectionOwner {
 public:
  /// Called for each frame (bytes after the length prefix, never empty) from
  /// an established peer. A non-empty
  /// return value is a reason to close that connection (malformed frame).
  using FrameHandler = std::function<std::string(uint64_t from_id, std::string_view frame)>;
  /// Asked, while this node has no cluster id, whether peer `peer_id`
  /// announcing the non-zero id `theirs` may take part (formation.h): "" =
  /// yes, else the refusal sent to it. It may call peer_cluster_id(), which
  /// already holds `theirs` for that peer.
  using FormationCheck = std::function<std::string(uint64_t peer_id, uint64_t theirs)>;

  /// Validates options and loads TLS material. Throws std::runtime_error
  /// (unknown self id, unresolvable address, unreadable certificate).
  Transport(event_base* base, TransportOptions opts);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  void set_frame_handler(FrameHandler h) { handler_ = std::move(h); }
  /// Without one, a node without a cluster id admits every peer.
  void set_formation_check(FormationCheck f) { formation_check_ = std::move(f); }

  /// Binds the listener and starts dialing every peer. Throws
  /// std::runtime_error naming the address when the port cannot be bound.
  void start();
  /// Closes the listener and every connection; cancels timers. Idempotent.
  void stop();

  /// Queues one frame for `to`: `frame` is what follows the length prefix
  /// (version, type, payload — codec.h's encode_frame() minus its first 4
  /// bytes). Returns false (and counts a drop) when the peer has no
  /// established outbound connection or its queue is full. A frame larger
  /// than max_frame_size is refused (logged, counted as a drop).
  bool send(uint64_t to, std::string_view frame);

  /// Replaces the set of peers (a membership change): new members are
  /// resolved and dialed, removed ones disconnected and forgotten, members
  /// whose address changed redialed. Self in `peers` is ignored. A member
  /// whose address does not resolve is logged and left out.
  void set_peers(const std::vector<Peer>& peers);

  bool connected(uint64_t to) const;
  PeerStats stats(uint64_t id) const;
  int64_t last_heard_ms(uint64_t id) const;
  const TransportOptions& options() const { return opts_; }
  /// Adopts the cluster id once it is known (it is never changed after):
  /// later handshakes carry it, and established connections of a peer that
  /// announced another non-zero id are closed.
  void set_cluster_id(uint64_t id);
  /// The cluster id `peer` announced in its latest handshake (either
  /// direction); 0 = none or not known yet.
  uint64_t peer_cluster_id(uint64_t peer) const;
  const Peer& self() const;

 private:
  struct PeerLink {
    Transport* owner = nullptr;
    Peer peer;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    Connection* out = nullptr;  // current outbound attempt or connection
    Connection* in = nullptr;   // newest established inbound connection
    event* retry_ev = nullptr;
    int64_t backoff_ms = 0;
    std::string last_out_reason;      // last outbound failure logged (dedupe)
    bool dropping = false;            // in a queue-full episode (logged once)
    uint64_t cluster_id = 0;          // announced in its latest handshake (0 = unknown)
    bool legacy_hello = false;        // peer refused our hello's cluster id: it predates them
    uint64_t mismatch_logged = 0;     // its cluster id we last logged a mismatch for
    uint64_t unconfirmed_logged = 0;  // its cluster id we last logged as unconfirmed
    PeerStats stats;
  };

  void on_connected(Connection* c) override;
  void on_frame(Connection* c, std::string_view payload) override;
  void on_closed(Connection* c, const std::string& reason) override;

  void dial(PeerLink& p);
  void schedule_retry(PeerLink& p);
  void reconnect(PeerLink& p);
  void handle_hello(Connection* c, std::string_view payload);
  void handle_accept(Connection* c, PeerLink& p, std::string_view payload);
  void refuse(Connection* c, const std::string& reason);
  /// Empty if `theirs` (from `p`'s handshake) may join us; else the reason:
  /// a mismatch (logged at error level once per distinct id) or, while we
  /// have no id, the formation check's refusal (warning, once per id). Keeps
  /// p.stats' identity refusal current.
  std::string check_cluster_id(PeerLink& p, std::optional<uint64_t> theirs);
  /// Records that `p` refused our handshake (`by_peer`) or we refused its,
  /// for its cluster id (PeerStats::identity_refusal).
  void note_identity_refusal(PeerLink& p, const std::string& why, bool by_peer);
  void log_inbound_refusal(const std::string& key, const std::string& what,
                           const std::string& reason);
  void sweep();
  PeerLink* link(uint64_t id);
  const PeerLink* link(uint64_t id) const;
  void reap_later(Connection* c);
  void drop_link(std::map<uint64_t, PeerLink>::iterator it, const char* why);

  static void accept_cb(evconnlistener* l, int fd, sockaddr* addr, int len, void* arg);
  static void accept_error_cb(evconnlistener* l, void* arg);
  static void retry_cb(int, short, void* arg);
  static void sweep_cb(int, short, void* arg);
  static void relisten_cb(int, short, void* arg);
  static void reap_cb(int, short, void* arg);

  event_base* base_;
  TransportOptions opts_;
  std::unique_ptr<TlsContext> tls_;
  FrameHandler handler_;
  FormationCheck formation_check_;
  std::map<uint64_t, PeerLink> peers_;  // every member except self
  Peer self_;
  sockaddr_storage self_addr_{};
  socklen_t self_addr_len_ = 0;
  evconnlistener* listener_ = nullptr;
  event* sweep_ev_ = nullptr;
  event* reap_ev_ = nullptr;
  event* relisten_ev_ = nullptr;         // re-enables the listener after an accept error
  std::vector<Connection*> pending_in_;  // inbound connections before their handshake
  std::vector<Connection*> graveyard_;   // closed, deleted from reap_cb
  // Inbound refusals already logged: remote IP → last reason (dedupe).
  std::unordered_map<std::string, std::string> refusal_log_;
  bool running_ = false;
};

}  // namespace pw::consensus
