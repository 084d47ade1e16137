// pgctl/fs.h — small, synchronous file-system helpers used by pgctl for the
// few files it owns (managed config, pg_hba block, signal files, passfile)
// and for moving data directories aside. Files are small, so these are
// cheap enough to call on the event loop.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pw::pgctl {

/// Reads a whole (small) file. Returns false with `*error` naming the path.
bool read_file(const std::string& path, std::string* out, std::string* error,
               size_t max_bytes = 16 << 20);
/// The first `bytes` of `path` (all of a shorter file); a longer file is no error.
bool read_file_head(const std::string& path, size_t bytes, std::string* out, std::string* error);
/// Writes `content` to `path` via a temporary file + fsync + rename + fsync
/// of the directory, so a crash leaves either the old or the new file.
bool write_file_atomic(const std::string& path, const std::string& content, mode_t mode,
                       std::string* error);
/// Writes all of `content` to `fd` (a new file named `tmp`, for errors) and
/// fsyncs it; on failure closes `fd`, unlinks `tmp` and sets *error. On
/// success `fd` stays open: the caller closes it and moves `tmp` into place.
bool write_all_synced(int fd, const std::string& tmp, const std::string& content, std::string* error);
/// fsync(2) of a file or directory (a directory: so the names created,
/// renamed or removed in it are durable). False with `*error` naming it.
bool fsync_path(const std::string& path, std::string* error);
/// Removes `path` if it exists (ENOENT is success).
bool remove_file(const std::string& path, std::string* error);
bool file_exists(const std::string& path);
/// Directory entries except "." and ".."; false when it cannot be read.
bool list_dir(const std::string& dir, std::vector<std::string>* names, std::string* error);
/// Renames `dir` to `<dir>.moved-<UTC timestamp>` (with a numeric suffix if
/// that exists). Never deletes anything. `*new_path` receives the new name.
bool move_dir_aside(const std::string& dir, std::string* new_path, std::string* error);
/// Parent directory of a path ("/a/b" → "/a", "b" → ".").
std::string parent_dir(const std::string& path);
/// strerror(errno) as a std::string.
std::string errno_text(int err);

}  // namespace pw::pgctl
