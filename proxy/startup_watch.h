// proxy/startup_watch.h — recognises a server that refuses a new session
// with SQLSTATE 57P03 ("the database system is starting up / shutting down /
// not accepting connections") before the client has seen anything of it, so
// the session can be held and sent to a server again instead of the client
// getting that FATAL error (issue 12: a node that demotes or starts must not
// show through the proxy). The route normally ends before a primary stops
// (route_builder.cc), but a primary that fences on its own clock, or a
// standby restarting behind the read-only port, can still answer so.
//
// It keeps every client byte sent so far (the startup packet, and an
// SSLRequest/GSSENCRequest before it) to replay them to the next server, and
// withholds the server's first message until it knows whether that is the
// refusal. An SSL answer 'N' goes to the client at once (any server of the
// cluster answers alike); on a replay the request is sent alone, the next
// server's 'N' swallowed, and only then the startup packet follows. A
// server that accepts TLS ('S'/'G') ends the watch: the rest is encrypted.
// Pure byte logic, no sockets: the session (session.cc) acts on the steps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pw::proxy {

class StartupWatch {
 public:
  enum class Step {
    watching,  ///< keep feeding; `forward` holds what the client may have now
    done,      ///< watching is over: send `forward`, then everything unparsed
    refused,   ///< a 57P03 ErrorResponse came first; nothing of it was forwarded
    mismatch,  ///< on a replay the server answered the SSL request differently
  };
  /// Client bytes on their way to the server. False: more than a startup
  /// exchange can hold; the caller stops watching (release()).
  bool client_bytes(const uint8_t* p, size_t n);
  /// Server bytes; appends to *forward what the client may get now and to
  /// *to_server what a replay sends next (after each swallowed 'N').
  Step server_bytes(const uint8_t* p, size_t n, std::string* forward, std::string* to_server);
  /// Stops watching: what was withheld, for the client.
  std::string release();
  /// After `refused`: prepares for the next server. Returns what the
  /// client has sent that no answer covers yet (its startup packet): the
  /// session keeps it as queued client bytes, which a refusal at the hold
  /// deadline then scans (refusal.h) as if just read.
  std::string begin_replay();
  /// Once connected to the next server: what to send it first. With SSL/GSS
  /// requests before the startup packet, only the first request; the rest
  /// follows each swallowed 'N' (server_bytes' *to_server).
  std::string replay_start();
  /// Replayed client bytes wait for an answer: the client is not read meanwhile.
  bool replay_pending() const { return !pending_rest_.empty(); }
  /// The refusing server's message text (for the log), after `refused`.
  const std::string& message() const { return message_; }
  /// After `done`: the server accepted TLS or GSS encryption, so its first
  /// message (a refusal or not) is encrypted and was never seen here.
  bool encrypted() const { return encrypted_; }

 private:
  Step parse_first_message(std::string* forward);
  Step finish(std::string* forward);  // done: everything withheld goes to the client
  std::string client_;   // every client byte forwarded since the session connected
  std::string held_;     // server bytes withheld (the start of its first message)
  std::string message_;
  size_t answered_ = 0;  // client bytes an answer covers (the SSL/GSS request after 'N')
  size_t replayed_prefix_ = 0;  // requests the client had 'N' for before the replay
  std::string pending_rest_;     // replayed client bytes still to send
  bool encrypted_ = false;
};

}  // namespace pw::proxy
