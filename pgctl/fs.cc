// pgctl/fs.cc — see fs.h.
#include "pgctl/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace pw::pgctl {

std::string errno_text(int err) {
  return std::strerror(err);
}

namespace {
// Reads up to max_bytes of path; a longer file is an error unless `head`.
bool read_up_to(const std::string& path, std::string* out, std::string* error, size_t max_bytes, bool head) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + errno_text(errno);
    return false;
  }
  out->clear();
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = "cannot read " + path + ": " + errno_text(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > max_bytes && head) {
      out->resize(max_bytes);
      break;
    }
    if (out->size() > max_bytes) {
      *error = path + " is larger than " + std::to_string(max_bytes) + " bytes";
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}
}  // namespace

bool read_file(const std::string& path, std::string* out, std::string* error, size_t max_bytes) {
  return read_up_to(path, out, error, max_bytes, false);
}

bool read_file_head(const std::string& path, size_t bytes, std::string* out, std::string* error) {
  return read_up_to(path, out, error, bytes, true);
}

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool fsync_path(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + path + " for fsync: " + errno_text(errno);
    return false;
  }
  bool ok = ::fsync(fd) == 0;
  if (!ok) *error = "fsync " + path + ": " + errno_text(errno);
  ::close(fd);
  return ok;
}

bool write_file_atomic(const std::string& path, const std::string& content, mode_t mode,
                       std::string* error) {
  std::string tmp = path + ".pgwarden-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = "cannot create " + tmp + ": " + errno_text(errno);
    return false;
  }
  // O_CREAT's mode is filtered by the umask and ignored for an existing
  // file; secrets (the passfile) must end up with exactly `mode`.
  if (::fchmod(fd, mode) != 0) {
    *error = "chmod " + tmp + ": " + errno_text(errno);
    ::close(fd);
    return false;
  }
  if (!write_all_synced(fd, tmp, content, error)) return false;
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "rename " + tmp + " -> " + path + ": " + errno_text(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return fsync_path(parent_dir(path), error);
}

bool write_all_synced(int fd, const std::string& tmp, const std::string& content, std::string* error) {
  size_t off = 0;
  while (off < content.size()) {
    ssize_t w = ::write(fd, content.data() + off, content.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      *error = "cannot write " + tmp + ": " + errno_text(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    *error = "fsync " + tmp + ": " + errno_text(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool remove_file(const std::string& path, std::string* error) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return true;
  *error = "cannot remove " + path + ": " + errno_text(errno);
  return false;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool list_dir(const std::string& dir, std::vector<std::string>* names, std::string* error) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    *error = "cannot read directory " + dir + ": " + errno_text(errno);
    return false;
  }
  names->clear();
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names->emplace_back(e->d_name);
  }
  ::closedir(d);
  return true;
}

bool move_dir_aside(const std::string& dir, std::string* new_path, std::string* error) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  time_t now = ::time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string base = d + ".moved-" + stamp;
  std::string target = base;
  for (int i = 1; file_exists(target); ++i) target = base + "-" + std::to_string(i);
  if (::rename(d.c_str(), target.c_str()) != 0) {
    int err = errno;
    *error = "cannot move " + d + " aside to " + target + ": " + errno_text(err);
    if (err == EBUSY)
      *error += " (it is a mount point: use a subdirectory of the mount as data_dir)";
    return false;
  }
  std::string ignored;
  fsync_path(parent_dir(d), &ignored);
  *new_path = target;
  return true;
}

}  // namespace pw::pgctl
