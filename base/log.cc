// base/log.cc — see log.h. Formats into a stack buffer and emits it with one
// write(2); no locks, so it is safe from any thread and from child-exit paths.
#include "base/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace pw {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<int> g_fd{2};
char g_node[64] = "-";
const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO ";
    case LogLevel::warn: return "WARN ";
    case LogLevel::error: return "ERROR";
  }
  return "?";
}
}  // namespace

void log_set_node(const std::string& node) {
  snprintf(g_node, sizeof g_node, "%s", node.c_str());
}
void log_set_level(LogLevel level) { g_level = static_cast<int>(level); }
void log_set_fd(int fd) { g_fd = fd; }
std::optional<LogLevel> log_level_named(std::string_view name) {
  for (LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error})
    if (name == log_level_word(l)) return l;
  return std::nullopt;
}

const char* log_level_word(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}

LogLevel log_level() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

void vlog(LogLevel level, const char* component, const char* fmt, va_list ap) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  char buf[2048];
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  int n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %-6s node=%s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   static_cast<int>(tv.tv_usec / 1000), level_name(level), component, g_node);
  if (n < 0) return;
  size_t used = static_cast<size_t>(n);
  int m = vsnprintf(buf + used, sizeof buf - used - 1, fmt, ap);
  if (m > 0) used += std::min(static_cast<size_t>(m), sizeof buf - used - 2);
  buf[used++] = '\n';
  ssize_t off = 0;
  while (off < static_cast<ssize_t>(used)) {
    ssize_t w = ::write(g_fd.load(), buf + off, used - off);
    if (w <= 0) break;
    off += w;
  }
}

void log(LogLevel level, const char* component, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(level, component, fmt, ap);
  va_end(ap);
}

}  // namespace pw
