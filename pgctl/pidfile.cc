// pgctl/pidfile.cc — see pidfile.h.
#include "pgctl/pidfile.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "pgctl/fs.h"

namespace pw::pgctl {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return "";
  return buf;
}

}  // namespace

bool parse_postmaster_pid(const std::string& text, PostmasterPid* out) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(trim(line));
  if (lines.empty()) return false;
  char* end = nullptr;
  long pid = std::strtol(lines[0].c_str(), &end, 10);
  if (lines[0].empty() || *end != '\0' || pid <= 0 || pid > INT_MAX) return false;
  PostmasterPid p;
  p.pid = static_cast<pid_t>(pid);
  if (lines.size() > 1) p.data_dir = lines[1];
  if (lines.size() > 2) p.start_time = std::atoll(lines[2].c_str());
  if (lines.size() > 3) p.port = std::atoi(lines[3].c_str());
  if (lines.size() > 4) p.socket_dir = lines[4];
  if (lines.size() > 5) p.listen_address = lines[5];
  if (lines.size() > 7) p.status = lines[7];
  *out = p;
  return true;
}

bool read_postmaster_pid(const std::string& data_dir, PostmasterPid* out) {
  std::string text, err;
  if (!read_file(data_dir + "/postmaster.pid", &text, &err, 1 << 16)) return false;
  return parse_postmaster_pid(text, out);
}

pid_t live_postmaster(const std::string& data_dir) {
  PostmasterPid p;
  if (!read_postmaster_pid(data_dir, &p)) return 0;
  if (::kill(p.pid, 0) != 0 && errno != EPERM) return 0;
  // The pid may have been reused. A postmaster chdir()s into its data
  // directory, so its cwd identifies it; if we may not read the cwd (another
  // user), fall back to the executable's name.
  std::string proc = "/proc/" + std::to_string(p.pid);
  std::string cwd = real_path(proc + "/cwd");
  if (!cwd.empty()) return cwd == real_path(data_dir) ? p.pid : 0;
  std::string comm, err;
  if (!read_file(proc + "/comm", &comm, &err, 256))
    return p.pid;  // alive, can't tell: assume it is
  comm = trim(comm.substr(0, comm.find('\n')));
  return (comm == "postgres" || comm == "postmaster") ? p.pid : 0;
}

}  // namespace pw::pgctl
