// pgctl/data_dir.cc — see data_dir.h. Reads files only; never starts a process.
#include "pgctl/data_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "pgctl/fs.h"
#include "pgctl/pg_control.h"
#include "pgctl/pidfile.h"

namespace pw::pgctl {
namespace {

DataDirInfo unusable(std::string reason) {
  DataDirInfo info;
  info.kind = DataDirInfo::Kind::unusable;
  info.reason = std::move(reason);
  return info;
}

std::string octal_mode(mode_t m) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

}  // namespace

const char* kind_name(DataDirInfo::Kind k) {
  switch (k) {
    case DataDirInfo::Kind::empty:
      return "empty";
    case DataDirInfo::Kind::cluster:
      return "cluster";
    case DataDirInfo::Kind::unusable:
      return "unusable";
  }
  return "?";
}

std::string describe(const DataDirInfo& info) {
  std::string s = kind_name(info.kind);
  if (info.system_id != 0) {
    char buf[256];
    snprintf(buf, sizeof buf,
             " system_id=%" PRIu64
             " timeline=%u lsn=%s major=%u state=\"%s\" was_standby=%d "
             "clean_shutdown=%d",
             info.system_id, info.timeline, format_lsn(info.lsn()).c_str(), info.major_version,
             info.state.c_str(), info.was_standby ? 1 : 0, info.clean_shutdown ? 1 : 0);
    s += buf;
  }
  if (info.running_pid) s += " running_pid=" + std::to_string(info.running_pid);
  if (!info.reason.empty()) s += " reason=\"" + info.reason + "\"";
  return s;
}

uint32_t read_pg_version(const std::string& data_dir) {
  std::string text, err;
  if (!read_file(data_dir + "/PG_VERSION", &text, &err, 64)) return 0;
  uint32_t v = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) v = v * 10 + (text[i] - '0');
  return i == 0 ? 0 : v;
}

DataDirInfo inspect_data_dir(const std::string& dir, const InspectOptions& opts) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return DataDirInfo{};  // missing = empty: initdb/clone create it
    return unusable("cannot stat " + dir + ": " + errno_text(errno));
  }
  if (!S_ISDIR(st.st_mode)) return unusable(dir + " exists but is not a directory");

  std::vector<std::string> names;
  std::string err;
  if (!list_dir(dir, &names, &err)) return unusable(err + " (check owner and permissions)");
  if (names.empty()) {
    // An empty directory is usable only if PostgreSQL will accept it later.
    if (opts.check_owner && st.st_uid != ::geteuid())
      return unusable(dir + " is empty but owned by uid " + std::to_string(st.st_uid) +
                      ", pgwarden runs as uid " + std::to_string(::geteuid()) + ": chown it");
    return DataDirInfo{};
  }
  if (names.size() == 1 && names[0] == "lost+found")
    return unusable(dir +
                    " contains only lost+found: it is a mount point; use a subdirectory "
                    "of the mount as data_dir");

  if (opts.check_owner && st.st_uid != ::geteuid())
    return unusable(dir + " is owned by uid " + std::to_string(st.st_uid) +
                    ", pgwarden runs as uid " + std::to_string(::geteuid()) +
                    ": PostgreSQL will refuse it; chown -R it to the PostgreSQL user");
  mode_t perms = st.st_mode & 07777;
  if (perms != 0700 && perms != 0750)
    return unusable(dir + " has permissions " + octal_mode(perms) +
                    ", PostgreSQL requires 0700 (or 0750): chmod 0700 " + dir);

  uint32_t major = read_pg_version(dir);
  if (major == 0)
    return unusable(dir +
                    " is not empty and is not a PostgreSQL data directory (no readable "
                    "PG_VERSION): move it aside or empty it");
  if (major < 12)
    return unusable(dir + " holds PostgreSQL " + std::to_string(major) +
                    ", pgwarden supports 12 and later: upgrade it with pg_upgrade");
  if (opts.expected_major != 0 && major != opts.expected_major)
    return unusable(dir + " holds PostgreSQL " + std::to_string(major) + " but bin_dir runs " +
                    std::to_string(opts.expected_major) +
                    ": point [postgresql] bin_dir at the version " + std::to_string(major) +
                    " binaries, or upgrade the directory with pg_upgrade");

  std::string control;
  if (!read_file(dir + "/global/pg_control", &control, &err, 1 << 16))
    return unusable(dir + " has PG_VERSION but no readable global/pg_control (" + err +
                    "): an incomplete or damaged data directory; move it aside");
  ControlData cd;
  if (!parse_pg_control(reinterpret_cast<const uint8_t*>(control.data()), control.size(), &cd,
                        &err))
    return unusable(dir + "/global/pg_control: " + err + "; move the directory aside");
  uint32_t floor = control_version_major_floor(cd.control_version);
  bool version_consistent = (major >= 17) ? floor == 17 : (major >= 13 ? floor == 13 : floor == 12);
  if (!version_consistent)
    return unusable(dir + ": PG_VERSION says " + std::to_string(major) +
                    " but pg_control has format " + std::to_string(cd.control_version) +
                    "; the directory is inconsistent, move it aside");

  DataDirInfo info;
  info.kind = DataDirInfo::Kind::cluster;
  info.system_id = cd.system_id;
  info.timeline = cd.timeline;
  info.checkpoint_lsn = cd.checkpoint_lsn;
  info.min_recovery_lsn = cd.min_recovery_lsn;
  info.params = cd.params;
  if (cd.min_recovery_timeline > info.timeline) info.timeline = cd.min_recovery_timeline;
  info.major_version = major;
  info.state = db_state_name(cd.state);
  info.clean_shutdown =
      cd.state == DbState::shut_down || cd.state == DbState::shut_down_in_recovery;
  info.was_standby = file_exists(dir + "/standby.signal") ||
                     cd.state == DbState::shut_down_in_recovery ||
                     cd.state == DbState::in_archive_recovery;
  info.running_pid = live_postmaster(dir);
  if (opts.expected_system_id != 0 && cd.system_id != opts.expected_system_id) {
    info.kind = DataDirInfo::Kind::unusable;
    info.foreign = true;
    info.reason = dir + " belongs to another cluster (system id " + std::to_string(cd.system_id) +
                  ", this cluster is " + std::to_string(opts.expected_system_id) +
                  "): it must be moved aside and cloned, never streamed into";
  }
  return info;
}

}  // namespace pw::pgctl
