// pgctl/timeline_files.cc — see timeline_files.h.
#include "pgctl/timeline_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "pgctl/fs.h"
#include "pgctl/pg_control.h"

namespace pw::pgctl {

const char* const kPlaceholderMarker = "# pgwarden placeholder";

namespace {

std::string wal_dir(const std::string& data_dir) {
  return data_dir + "/pg_wal";
}

// "0000000A.history" → 10; 0 for anything else.
uint32_t history_id(const std::string& name) {
  if (name.size() != 16 || name.compare(8, 8, ".history") != 0) return 0;
  for (size_t i = 0; i < 8; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(name[i]))) return 0;
  return static_cast<uint32_t>(std::strtoul(name.substr(0, 8).c_str(), nullptr, 16));
}

bool is_placeholder(const std::string& path, bool* yes, std::string* error) {
  // Only the marker's length: a real history file is never read whole here
  // (every start as a standby looks at each one).
  const size_t n = std::char_traits<char>::length(kPlaceholderMarker);
  std::string text;
  if (!read_file_head(path, n, &text, error)) return false;
  *yes = text == kPlaceholderMarker;
  return true;
}

std::string placeholder_text(uint32_t tli) {
  return std::string(kPlaceholderMarker) + ": timeline " + std::to_string(tli) +
         " was handed out by the cluster before this server was promoted.\n"
         "# No server runs on it from here: the file only makes PostgreSQL choose a\n"
         "# higher id at promotion (findNewestTimeLine). Comment lines only, so it\n"
         "# reads as a history without entries. Written by pgwarden; see its\n"
         "# docs/operations.md, \"Timelines\".\n";
}

// Writes a placeholder under a temporary name, fsyncs it, then link()s it
// into place: never replaces a file that exists (a real history fetched in
// the meantime wins). *created = false when the id already had a file.
bool write_placeholder(const std::string& dir, uint32_t tli, bool* created, std::string* error) {
  const std::string path = dir + "/" + history_file_name(tli);
  const std::string tmp = dir + "/pgwarden-placeholder.tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot create " + tmp + ": " + errno_text(errno);
    return false;
  }
  if (!write_all_synced(fd, tmp, placeholder_text(tli), error)) return false;
  ::close(fd);
  *created = ::link(tmp.c_str(), path.c_str()) == 0;
  int err = errno;
  ::unlink(tmp.c_str());
  if (!*created && err != EEXIST) {
    *error = "cannot link " + path + ": " + errno_text(err);
    return false;
  }
  return true;
}

}  // namespace

std::string history_file_name(uint32_t tli) {
  char name[32];
  std::snprintf(name, sizeof name, "%08X.history", tli);
  return name;
}

bool list_history_files(const std::string& data_dir, HistoryFiles* out, std::string* error) {
  std::vector<std::string> names;
  const std::string dir = wal_dir(data_dir);
  if (!list_dir(dir, &names, error)) return false;
  *out = {};
  for (const auto& n : names) {
    uint32_t id = history_id(n);
    if (id == 0) continue;
    bool placeholder = false;
    if (!is_placeholder(dir + "/" + n, &placeholder, error)) return false;
    (placeholder ? out->placeholders : out->real).push_back(id);
  }
  std::sort(out->real.begin(), out->real.end());
  std::sort(out->placeholders.begin(), out->placeholders.end());
  return true;
}

bool reserve_timeline_ids(const std::string& data_dir, uint32_t from, uint32_t to,
                          std::vector<uint32_t>* written, std::string* error) {
  written->clear();
  const std::string dir = wal_dir(data_dir);
  for (uint32_t tli = std::max<uint32_t>(from, 2); tli <= to && tli != 0; ++tli) {
    if (file_exists(dir + "/" + history_file_name(tli))) continue;
    bool created = false;
    if (!write_placeholder(dir, tli, &created, error)) return false;
    if (created) written->push_back(tli);
  }
  return written->empty() || fsync_path(dir, error);
}

bool remove_dangling_placeholders(const std::string& data_dir, uint32_t timeline,
                                  std::vector<uint32_t>* removed, std::string* error) {
  removed->clear();
  HistoryFiles files;
  if (!list_history_files(data_dir, &files, error)) return false;
  const uint32_t keep_up_to = std::max(timeline, files.newest_real());
  const std::string dir = wal_dir(data_dir);
  for (uint32_t id : files.placeholders) {
    if (id <= keep_up_to) continue;
    if (!remove_file(dir + "/" + history_file_name(id), error)) return false;
    removed->push_back(id);
  }
  return removed->empty() || fsync_path(dir, error);
}

bool history_switchpoint(const std::string& text, uint32_t ancestor, uint64_t* lsn) {
  // Lines are "<parent tli>\t<switchpoint>\t<reason>"; PostgreSQL skips
  // blank and '#' lines and reads the first two fields with sscanf.
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t i = line.find_first_not_of(" \t");
    if (i == std::string::npos || line[i] == '#') continue;
    size_t tab = line.find_first_of(" \t", i);
    if (tab == std::string::npos) continue;
    std::string tli_text = line.substr(i, tab - i);
    if (tli_text.find_first_not_of("0123456789") != std::string::npos) continue;
    size_t at = line.find_first_not_of(" \t", tab);
    if (at == std::string::npos) continue;
    size_t stop = line.find_first_of(" \t", at);
    uint64_t point = 0;
    if (!parse_lsn(line.substr(at, stop == std::string::npos ? std::string::npos : stop - at), &point)) continue;
    if (std::strtoul(tli_text.c_str(), nullptr, 10) == ancestor) {
      *lsn = point;
      return true;
    }
  }
  return false;
}

Switchpoint read_switchpoint(const std::string& data_dir, uint32_t tli, uint32_t ancestor, uint64_t* lsn,
                             std::string* error) {
  const std::string path = wal_dir(data_dir) + "/" + history_file_name(tli);
  if (::access(path.c_str(), F_OK) != 0) return Switchpoint::no_file;
  std::string text;
  if (!read_file(path, &text, error)) return Switchpoint::no_file;
  return history_switchpoint(text, ancestor, lsn) ? Switchpoint::found : Switchpoint::not_listed;
}

}  // namespace pw::pgctl
