// node/reexec.cc — see reexec.h.
#include "node/reexec.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "pgctl/child.h"

namespace pw::node {

namespace {

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// Marks every descriptor from 3 up close-on-exec.
void cloexec_all() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0) return;
#endif
  // Older kernels: walk /proc/self/fd (its own descriptor gets the flag too,
  // harmlessly: closedir closes it anyway).
  DIR* d = opendir("/proc/self/fd");
  if (!d) return;
  while (dirent* e = readdir(d)) {
    int fd = atoi(e->d_name);
    if (fd > 2) fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  }
  closedir(d);
}

}  // namespace

std::vector<std::string> own_command_line(std::string* error) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    argv.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  if (argv.empty()) *error = "cannot read /proc/self/cmdline";
  return argv;
}

std::string reexec_program(const std::vector<std::string>& argv, std::string* error) {
  if (!argv.empty() && argv[0].find('/') != std::string::npos) return argv[0];
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    *error = std::string("readlink /proc/self/exe: ") + strerror(errno);
    return "";
  }
  std::string path(buf, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    path.resize(path.size() - deleted.size());
  return path;
}

std::string reexec(const std::string& program, const std::vector<std::string>& argv,
                   const std::vector<std::string>& extra_env, const std::vector<int>& keep) {
  std::vector<std::string> env = pgctl::merged_env(extra_env);
  std::vector<char*> av, ev;
  std::vector<std::string> args = argv;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  for (auto& e : env) ev.push_back(e.data());
  ev.push_back(nullptr);

  cloexec_all();
  for (int fd : keep)
    if (fd > 2) fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
  // The mask survives an exec; the new image must get its signals.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  execve(program.c_str(), av.data(), ev.data());
  std::string error = "cannot execute " + program + ": " + strerror(errno);
  execve("/proc/self/exe", av.data(), ev.data());
  error += "; nor /proc/self/exe: " + std::string(strerror(errno));
  // Still this image: its descriptors must work as before.
  for (int fd : keep)
    if (fd > 2) fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  return error;
}

}  // namespace pw::node
