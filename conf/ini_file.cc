// conf/ini_file.cc — see ini_file.h. inih does the parsing (sections, keys,
// values, comments); this file feeds it line by line and keeps line numbers.
#include "conf/ini_file.h"

#include <fcntl.h>
#include <ini.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

namespace pw::conf {
namespace {

// inih copies section and key names into fixed 50-byte buffers and would
// silently truncate longer ones; we refuse them instead.
constexpr size_t kMaxName = 49;
// Lines may be long (a large member list); anything past this is an error.
constexpr int kMaxLine = 64 * 1024;
constexpr size_t kMaxFile = 4 << 20;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\f\v");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\f\v");
  return s.substr(b, e - b + 1);
}

// inih's inline comment rule: ';' at the start or after whitespace.
size_t find_inline_comment(const std::string& s, size_t from) {
  for (size_t i = from; i < s.size(); ++i)
    if (s[i] == ';' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) return i;
  return std::string::npos;
}

// What one physical line turns into: the text inih is given, or an error.
struct Line {
  std::string feed;  // handed to inih (always ends in '\n')
  bool bad = false;  // a syntax error was recorded; inih gets an empty line
};

// Checks one line with the same rules inih applies and records sections.
Line check_line(const std::string& raw, int lineno, IniFile* out) {
  auto fail = [&](std::string msg) {
    out->syntax_errors.push_back({lineno, std::move(msg)});
    return Line{"\n", true};
  };
  if (raw.find('\0') != std::string::npos) return fail("line contains a NUL byte");
  if (raw.size() >= static_cast<size_t>(kMaxLine) - 2)
    return fail("line is longer than " + std::to_string(kMaxLine - 3) + " characters");
  // Leading whitespace is dropped: inih would otherwise treat an indented
  // line as the continuation of the previous value.
  std::string t = trim(raw);
  if (t.empty() || t[0] == ';' || t[0] == '#') return Line{t + "\n", false};
  if (t[0] == '[') {
    size_t close = t.find(']');
    size_t comment = find_inline_comment(t, 1);
    if (close == std::string::npos || close > comment) return fail("section header lacks ']'");
    std::string rest = trim(t.substr(close + 1));
    if (!rest.empty() && rest[0] != ';' && rest[0] != '#')
      return fail("unexpected text after section header: '" + rest + "'");
    std::string name = t.substr(1, close - 1);
    if (name.size() > kMaxName)
      return fail("section name is longer than " + std::to_string(kMaxName) + " characters");
    out->sections.push_back({name, lineno});
    return Line{t + "\n", false};
  }
  size_t comment = find_inline_comment(t, 0);
  size_t sep = t.find_first_of("=:");
  if (sep == std::string::npos || sep > comment)
    return fail("expected 'key = value', '[section]' or a comment, got '" + t + "'");
  std::string key = trim(t.substr(0, sep));
  if (key.empty()) return fail("missing key name before '" + std::string(1, t[sep]) + "'");
  if (key.size() > kMaxName)
    return fail("key '" + key + "' is longer than " + std::to_string(kMaxName) + " characters");
  return Line{t + "\n", false};
}

struct Stream {
  std::vector<Line> lines;
  size_t next = 0;    // index of the line being handed out
  size_t offset = 0;  // bytes of it already handed out
  int current = 0;    // 1-based line inih is working on
};

// fgets-style reader for ini_parse_stream: one physical line per call, or
// a chunk of it when inih's buffer is smaller (it then asks again).
char* reader(char* str, int num, void* opaque) {
  auto* s = static_cast<Stream*>(opaque);
  if (s->next >= s->lines.size() || num < 2) return nullptr;
  const std::string& feed = s->lines[s->next].feed;
  if (s->offset == 0) s->current = static_cast<int>(s->next) + 1;
  size_t n = std::min(feed.size() - s->offset, static_cast<size_t>(num - 1));
  memcpy(str, feed.data() + s->offset, n);
  str[n] = '\0';
  s->offset += n;
  if (s->offset == feed.size()) {
    ++s->next;
    s->offset = 0;
  }
  return str;
}

struct HandlerCtx {
  Stream* stream;
  IniFile* out;
};

int handler(void* user, const char* section, const char* name, const char* value) {
  auto* ctx = static_cast<HandlerCtx*>(user);
  ctx->out->entries.push_back({section, name, value ? value : "", ctx->stream->current});
  return 1;  // errors are ours to judge later; never let inih count them
}

}  // namespace

IniFile parse_ini_text(const std::string& text) {
  IniFile out;
  Stream stream;
  std::string body = text;
  if (body.rfind("\xEF\xBB\xBF", 0) == 0) body.erase(0, 3);  // UTF-8 BOM
  std::istringstream in(body);
  std::string raw;
  int lineno = 0;
  while (std::getline(in, raw)) stream.lines.push_back(check_line(raw, ++lineno, &out));

  // These are runtime knobs of Debian's libinih: a heap line buffer that may
  // grow to kMaxLine, and no Python-style multi-line values (an indented
  // line is its own key, never a silent continuation). Process-global, so
  // the values are simply set each time.
  ini_use_stack = false;
  ini_allow_realloc = true;
  ini_max_line = kMaxLine;
  ini_allow_multiline = false;
  ini_stop_on_first_error = false;

  HandlerCtx ctx{&stream, &out};
  int rc = ini_parse_stream(reader, &stream, handler, &ctx);
  if (rc != 0) {
    // Our line check should have caught everything inih rejects; if not, still
    // report it rather than continue with a half-read file.
    std::set<int> known;
    for (const auto& e : out.syntax_errors) known.insert(e.line);
    if (rc < 0)
      out.syntax_errors.push_back(
          {0, "inih failed to parse the file (error " + std::to_string(rc) + ")"});
    else if (!known.count(rc))
      out.syntax_errors.push_back({rc, "inih could not parse this line"});
  }
  return out;
}

IniFile read_ini_file(const std::string& path) {
  IniFile out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.open_error = std::string("cannot open: ") + strerror(errno);
    return out;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    out.open_error = "is a directory, not a configuration file";
    return out;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.open_error = std::string("read error: ") + strerror(errno);
      break;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFile) {
      out.open_error =
          "file is larger than " + std::to_string(kMaxFile) + " bytes; is it really a config file?";
      break;
    }
  }
  close(fd);
  if (!out.open_error.empty()) return out;
  return parse_ini_text(text);
}

}  // namespace pw::conf
