// node/handoff.cc — see handoff.h.
#include "node/handoff.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>

namespace pw::node {

std::string Handoff::encode() const {
  HandoffFields f;
  f.set("from_version", from_version);
  f.set_i64("left_at_ms", left_at_ms);
  f.set_i64("fencer_pid", fencer.pid);
  f.set_i64("fencer_fd", fencer.fd);
  f.set_i64("fencer_order_pid", fencer.order_pid);
  f.set_i64("fencer_order_deadline", fencer.order_deadline);
  f.set_u64("fencer_delivered", fencer.delivered ? 1 : 0);
  f.set_i64("postmaster_pid", postmaster.pid);
  f.set_i64("postmaster_out_fd", postmaster.output_fd);
  f.set_u64("postmaster_child", postmaster.child ? 1 : 0);
  agent.write(&f);
  return f.encode();
}

namespace {
// An int field within [lo, hi], else `def`: pids and descriptors out of range
// are treated as absent, never passed to a system call.
int64_t bounded(const HandoffFields& f, const char* key, int64_t lo, int64_t hi, int64_t def) {
  int64_t v = 0;
  return f.get_i64(key, &v) && v >= lo && v <= hi ? v : def;
}
}  // namespace

std::optional<Handoff> Handoff::decode(const std::string& text, std::string* error) {
  std::optional<HandoffFields> f = HandoffFields::decode(text, error);
  if (!f) return std::nullopt;
  Handoff h;
  f->get("from_version", &h.from_version);
  f->get_i64("left_at_ms", &h.left_at_ms);
  constexpr int64_t kMaxPid = 1 << 22;  // PID_MAX_LIMIT
  constexpr int64_t kMaxFd = 1 << 20;
  h.fencer.pid = static_cast<pid_t>(bounded(*f, "fencer_pid", 1, kMaxPid, -1));
  h.fencer.fd = static_cast<int>(bounded(*f, "fencer_fd", 3, kMaxFd, -1));
  h.fencer.order_pid = static_cast<pid_t>(bounded(*f, "fencer_order_pid", 0, kMaxPid, 0));
  h.fencer.order_deadline = bounded(*f, "fencer_order_deadline", 0, INT64_MAX, 0);
  h.fencer.delivered = bounded(*f, "fencer_delivered", 0, 1, 0) == 1;
  h.postmaster.pid = static_cast<pid_t>(bounded(*f, "postmaster_pid", 0, kMaxPid, 0));
  h.postmaster.output_fd = static_cast<int>(bounded(*f, "postmaster_out_fd", 3, kMaxFd, -1));
  h.postmaster.child = bounded(*f, "postmaster_child", 0, 1, 0) == 1;
  h.agent = AgentHandoff::read(*f);
  return h;
}

namespace {
bool our_child(pid_t pid) {
  siginfo_t si{};
  // WNOWAIT: look, do not reap (the postmaster's watch reaps it).
  return pid > 0 && (waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD);
}
bool is_pipe(int fd) {
  struct stat st{};
  return fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}
}  // namespace

std::string verify_handoff(Handoff* h) {
  std::string dropped;
  if (h->fencer.pid > 0 && (!our_child(h->fencer.pid) || !is_pipe(h->fencer.fd))) {
    dropped += " fencer pid=" + std::to_string(h->fencer.pid) + " fd=" + std::to_string(h->fencer.fd);
    h->fencer.pid = -1;
    h->fencer.fd = -1;
  }
  if (h->postmaster.pid > 0 && h->postmaster.child && !our_child(h->postmaster.pid)) {
    dropped += " postmaster pid=" + std::to_string(h->postmaster.pid);
    h->postmaster = {};
  }
  if (h->postmaster.output_fd >= 0 && !is_pipe(h->postmaster.output_fd)) {
    dropped += " postmaster output fd=" + std::to_string(h->postmaster.output_fd);
    h->postmaster.output_fd = -1;
  }
  return dropped;
}

std::optional<Handoff> take_handoff_from_env(std::string* error) {
  const char* v = getenv(kHandoffEnv);
  if (!v) return std::nullopt;
  std::string text = v;
  unsetenv(kHandoffEnv);
  return Handoff::decode(text, error);
}

}  // namespace pw::node
