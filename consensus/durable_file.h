// consensus/durable_file.h — small POSIX helpers for crash-safe files in the
// state directory: atomic replacement (temp + fsync + rename + dir fsync),
// whole-file reads, and errors that name the path and errno text.
#pragma once

#include <string>

namespace pw::consensus {

/// Throws std::runtime_error("<what> <path>: <strerror(errno)>").
[[noreturn]] void throw_errno(const std::string& what, const std::string& path);
/// fsync(2) of a directory, so created/renamed/removed names are durable.
void fsync_dir(const std::string& dir);
/// Writes all of `len` bytes to `fd` (retrying short writes and EINTR); throws on error.
void write_all(int fd, const void* data, size_t len, const std::string& path);
/// Replaces `dir`/`name` with `bytes` atomically (the file is always either
/// the old or the new content, never partial). With `sync_dir` (the default)
/// the replacement is also durable when this returns; without, a crash may
/// bring back the previous (complete) version.
void write_file_atomic(const std::string& dir, const std::string& name, const std::string& bytes,
                       bool sync_dir = true);
/// Reads a whole file. Returns false if it does not exist; throws on other errors.
bool read_file(const std::string& path, std::string* out);
/// Creates `dir` (mode 0700) if missing, parents included; throws on failure.
void make_dirs(const std::string& dir);

}  // namespace pw::consensus
