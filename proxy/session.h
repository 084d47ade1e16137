// proxy/session.h — one client connection and, once routed, its backend
// connection. Kept small on purpose (DESIGN §7 targets ~1 KiB per idle
// session including the backend side): two libevent events, two fds, and
// buffers that exist only while a write is blocked. Bytes are read into the
// worker's shared scratch buffer and written straight to the other socket.
//
// Life cycle (one state at a time, changed by set_state()):
//   first_bytes (read-only port: read the first 8 bytes to spot a CancelRequest)
//   -> held (no usable route; timer until hold_timeout)
//   -> connecting (non-blocking connect to the chosen backend)
//   -> forwarding (both directions; client side paused on a stale route)
//   refusing (answer 'N'/ErrorResponse in PostgreSQL's protocol) -> lingering
// Every session ends in session_end() with a reason that is logged and counted.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <cstdint>

#include "base/log.h"
#include "proxy/route_select.h"

namespace pw::proxy {

class Worker;
struct BackendStats;
struct Refusal;
class StartupWatch;

enum class SessionState : uint8_t { first_bytes, held, connecting, forwarding, refusing, lingering };
const char* state_name(SessionState s);

/// Bytes a blocked write could not hand to the kernel yet (malloc'd with
/// room for `cap` bytes right after the header).
struct Pending {
  uint32_t len, off, cap;
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
};

enum class OnList : uint8_t { none, held, paused };

struct Session {
  Worker* w = nullptr;
  Session *prev = nullptr, *next = nullptr;    // Worker::sessions
  Session *lprev = nullptr, *lnext = nullptr;  // Worker::held or Worker::paused
  event cev{}, sev{};  // client fd / server fd (the latter doubles as the timer)
  int cfd = -1, sfd = -1;
  short cflags = 0, sflags = 0;  // what cev/sev are armed for (0 = not armed)
  ListenerKind kind = ListenerKind::readwrite;
  SessionState state = SessionState::held;
  OnList on_list = OnList::none;
  bool admitted = false;         // counted in sessions_now / max_client_connections
  bool to_primary = true;
  bool backend_counted = false;  // counted in backend->sessions_now
  bool c_eof = false, s_eof = false;
  bool was_held = false;
  int last_errno = 0;            // last backend connect error (for the 57P03 text)
  uint64_t id = 0;
  uint64_t epoch = 0;            // route epoch the backend was chosen in
  int64_t deadline_ms = 0;       // accept + hold_timeout (monotonic)
  int64_t t_us = 0;              // connect start (latency)
  int64_t paused_at_ms = 0;      // when the session was last paused (pause_timeout)
  BackendStats* backend = nullptr;
  Pending* c2s = nullptr;        // client bytes waiting for the server
  Pending* s2c = nullptr;        // server bytes waiting for the client
  Refusal* refusal = nullptr;    // only while refusing
  StartupWatch* watch = nullptr; // until the server's first message (startup_watch.h)
  bool startup_refused = false;  // held after a server answered 57P03: retry soon
  uint64_t bytes_c2s = 0, bytes_s2c = 0;
};

/// A new client connection accepted on listener `kind` (fd already tuned).
void session_accept(Worker* w, int fd, ListenerKind kind);
/// Routes a session that is not yet connected: connect, hold, or refuse.
/// The session may end inside.
void session_route(Session* s);
/// Re-judges a connecting/forwarding session after a route change (I3):
/// close, pause, resume, or re-route a connect in flight.
void session_on_route(Session* s, int64_t now_ms);
/// A session paused longer than pause_timeout_ms: answered 57P03 when
/// nothing has reached the server yet (the client still waits for its
/// startup reply), else closed — mid-protocol an injected message could
/// land inside a server message. The session ends inside.
void session_pause_expired(Session* s);
/// Answers in PostgreSQL's protocol and closes (57P03 hold timeout, 53300).
void session_refuse(Session* s, const char* sqlstate, const char* message);
/// The one way a session ends: closes both sides, logs `reason`, counts.
void session_end(Session* s, const char* reason, LogLevel level = LogLevel::debug);

// Internal, shared by session.cc (forwarding) and session_setup.cc.
void session_set_state(Session* s, SessionState st);
void session_update_io(Session* s);
void session_arm(Session* s, bool client, int fd, short flags, event_callback_fn cb, int64_t timeout_ms);
void session_disarm(Session* s, bool client);
void session_start_forwarding(Session* s);
/// Holds a session whose server refused it with 57P03 (startup_watch.h):
/// it is routed again after the retry delay.
void session_hold_for_retry(Session* s, const char* why);
/// Whether a refused session may still be retried before its hold deadline.
bool session_may_retry(const Session* s, int64_t now_ms);
void session_list_unlink(Session* s);
/// Closes the backend side (its event, fd and place in the backend's
/// session count); the client side stays.
void session_drop_server(Session* s);
Pending* pending_new(const uint8_t* p, uint32_t n, uint32_t cap);

}  // namespace pw::proxy
