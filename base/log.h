// base/log.h — one-line structured logging shared by every module.
//
// Format: `2026-11-25T19:00:00.123Z INFO  raft node=n1 became leader term=4`.
// One line per event, written with a single write(2) so lines from the
// control and proxy threads never interleave. The node name is set once at
// start-up by node/ and prefixed to every line.
#pragma once

#include <cstdarg>
#include <optional>
#include <string>
#include <string_view>

namespace pw {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

/// Sets the node name prefixed to every line (call once, before threads start).
void log_set_node(const std::string& node);
/// Lines below `level` are dropped.
void log_set_level(LogLevel level);
/// Redirects output to `fd` (default 2). Used by tests that capture logs.
void log_set_fd(int fd);
LogLevel log_level();
/// The level a configuration names ("debug", "info", "warn", "error"), or
/// nullopt; and back. One table for conf's validation and the daemon.
std::optional<LogLevel> log_level_named(std::string_view name);
const char* log_level_word(LogLevel level);

/// Writes one line: `component` is a short module tag ("raft", "proxy").
void log(LogLevel level, const char* component, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vlog(LogLevel level, const char* component, const char* fmt, va_list ap);

}  // namespace pw

#define PW_DEBUG(comp, ...)                                                      \
  do {                                                                           \
    if (::pw::log_level() <= ::pw::LogLevel::debug) ::pw::log(::pw::LogLevel::debug, comp, __VA_ARGS__); \
  } while (0)
#define PW_INFO(comp, ...) ::pw::log(::pw::LogLevel::info, comp, __VA_ARGS__)
#define PW_WARN(comp, ...) ::pw::log(::pw::LogLevel::warn, comp, __VA_ARGS__)
#define PW_ERROR(comp, ...) ::pw::log(::pw::LogLevel::error, comp, __VA_ARGS__)
