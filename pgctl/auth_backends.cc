// pgctl/auth_backends.cc — see auth_backends.h.
#include "pgctl/auth_backends.h"

#include <dirent.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pgctl/fs.h"

namespace pw::pgctl {

bool title_is_authenticating(const char* cmdline, size_t len) {
  // A set title is one string (PostgreSQL overwrites argv), padded with NULs.
  std::string title(cmdline, strnlen(cmdline, len));
  static const std::string kSuffix = " authentication";
  return title.rfind("postgres: ", 0) == 0 && title.size() > kSuffix.size() &&
         title.compare(title.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

namespace {

// The parent pid from /proc/<pid>/stat: "pid (comm) state ppid ...", where
// comm may hold spaces and parentheses: the last ')' ends it.
pid_t parent_of(const std::string& stat) {
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 4 >= stat.size()) return 0;
  return static_cast<pid_t>(std::strtol(stat.c_str() + close + 4, nullptr, 10));
}

}  // namespace

int count_authenticating_backends(pid_t postmaster) {
  if (postmaster <= 0) return 0;
  DIR* d = ::opendir("/proc");
  if (!d) return 0;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    const std::string dir = std::string("/proc/") + e->d_name;
    std::string stat, cmdline, err;
    // Processes come and go while we read: a failed read is not an error.
    if (!read_file_head(dir + "/stat", 512, &stat, &err) || parent_of(stat) != postmaster) continue;
    if (!read_file_head(dir + "/cmdline", 512, &cmdline, &err)) continue;
    n += title_is_authenticating(cmdline.data(), cmdline.size());
  }
  ::closedir(d);
  return n;
}

}  // namespace pw::pgctl
