// pgctl/version.cc — see version.h.
#include "pgctl/version.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/clock.h"
#include "pgctl/fs.h"

extern char** environ;

namespace pw::pgctl {

uint32_t parse_version_output(const std::string& text) {
  size_t p = text.find("(PostgreSQL) ");
  if (p == std::string::npos) return 0;
  p += 13;
  uint32_t v = 0;
  size_t i = p;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) v = v * 10 + (text[i] - '0');
  if (i == p) return 0;
  return v;  // "9.6.24" → 9, "15.4" → 15, "17beta1" → 17
}

uint32_t detect_bin_major(const std::string& bin_dir, int64_t timeout_ms, std::string* error) {
  std::string path = bin_dir + "/postgres";
  if (::access(path.c_str(), X_OK) != 0) {
    *error = "cannot execute " + path + ": " + errno_text(errno) + " (check [postgresql] bin_dir)";
    return 0;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *error = "pipe: " + errno_text(errno);
    return 0;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  std::string arg0 = path, arg1 = "--version";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    *error = "cannot run " + path + ": " + errno_text(rc);
    return 0;
  }
  std::string out;
  int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      *error = path + " --version did not answer within " + std::to_string(timeout_ms) + " ms";
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[512];
    ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
    if (out.size() > 4096) break;
  }
  ::close(fds[0]);
  int st;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  uint32_t v = parse_version_output(out);
  if (v == 0 && error->empty()) *error = "unexpected output of " + path + " --version: " + out;
  return v;
}

}  // namespace pw::pgctl
