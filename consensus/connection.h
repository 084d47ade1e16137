// consensus/connection.h — one raft TCP connection (optionally TLS): a
// non-blocking connect or an accepted socket, length-prefixed frame reading
// with a size limit, frame writing, and one way to end it: close(reason).
// It knows nothing about the handshake or peers; its owner (the Transport)
// does, through ConnectionOwner. Runs on one event_base thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

struct event;
struct event_base;
struct bufferevent;
typedef struct ssl_st SSL;

namespace pw::consensus {

class Connection;

/// Callbacks from a Connection to whoever owns it. None of them may delete
/// the Connection; closing it (Connection::close) is allowed in all of them.
class ConnectionOwner {
 public:
  /// TCP (and TLS, when enabled) is up; the pgwarden handshake may start.
  virtual void on_connected(Connection* c) = 0;
  /// One complete frame (payload without its length prefix). The view is
  /// valid only during the call.
  virtual void on_frame(Connection* c, std::string_view payload) = 0;
  /// Called exactly once when the connection ends, with why. After it the
  /// owner must stop using `c` and hand it to its deferred reaper.
  virtual void on_closed(Connection* c, const std::string& reason) = 0;

 protected:
  ~ConnectionOwner() = default;
};

class Connection {
 public:
  enum class Dir { in, out };
  enum class State { connecting, securing, open, closed };

  /// Starts a non-blocking connect from `src` (port 0 = any) to `dst`. With
  /// `ssl` (ownership taken), TLS starts once TCP is up. Returns nullptr and
  /// sets `*error` when the attempt fails immediately.
  static Connection* dial(event_base* base, ConnectionOwner* owner, const sockaddr* src,
                          socklen_t src_len, const sockaddr* dst, socklen_t dst_len, SSL* ssl,
                          std::string* error);
  /// Wraps an accepted socket (ownership of `fd` and `ssl` taken).
  static Connection* accept(event_base* base, ConnectionOwner* owner, int fd,
                            const std::string& remote, SSL* ssl);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Appends one frame to the output queue (no bound here; the Transport
  /// checks queued_bytes() first). No-op once closed.
  void send_frame(std::string_view payload);
  /// Bytes written by the owner but not yet handed to the kernel.
  size_t queued_bytes() const;
  /// Frames larger than this (length prefix included) close the connection.
  void set_frame_limit(size_t limit) { frame_limit_ = limit; }
  /// Ends the connection: frees the socket at once and reports `reason` to
  /// the owner (once; later calls are ignored).
  void close(const std::string& reason);
  /// Stops reading, lets queued output drain, then close(reason). Used to
  /// deliver a handshake refusal before hanging up.
  void close_after_flush(const std::string& reason);

  Dir dir() const { return dir_; }
  State state() const { return state_; }
  bool closed() const { return state_ == State::closed; }
  bool closing() const { return !closing_reason_.empty(); }
  const std::string& remote() const { return remote_; }
  /// The SSL object of a TLS connection (nullptr for plaintext).
  SSL* ssl() const;
  /// The socket, or -1 before TCP is up / after close.
  int fd() const;

  // Owner bookkeeping, kept here so one object describes one connection.
  uint64_t peer_id = 0;      // 0 until the handshake names a member
  bool established = false;  // handshake completed
  int64_t created_ms = 0;
  int64_t established_ms = 0;
  int64_t last_read_ms = 0;
  int64_t last_write_ms = 0;

 private:
  Connection(event_base* base, ConnectionOwner* owner, Dir dir, std::string remote);
  void start_stream(int fd, SSL* ssl);
  void on_read();
  static void connect_cb(int fd, short what, void* arg);
  static void read_cb(bufferevent* bev, void* arg);
  static void write_cb(bufferevent* bev, void* arg);
  static void event_cb(bufferevent* bev, short what, void* arg);

  event_base* base_;
  ConnectionOwner* owner_;
  Dir dir_;
  State state_ = State::connecting;
  std::string remote_;
  event* connect_ev_ = nullptr;  // pending non-blocking connect
  int connect_fd_ = -1;
  SSL* pending_ssl_ = nullptr;  // TLS for an outbound connection, used once TCP is up
  bufferevent* bev_ = nullptr;
  size_t frame_limit_ = 0;
  std::string closing_reason_;
};

/// "127.0.0.1:5010" for logs.
std::string sockaddr_text(const sockaddr* sa);

}  // namespace pw::consensus
