// conf/ini_file.h — reads an INI file with inih and remembers the line of
// every section header and key, so each later error can name its line.
//
// inih's handler is not told the line number (Debian's libinih is built
// without INI_HANDLER_LINENO), so we feed inih through ini_parse_stream with
// our own reader that hands it one physical line at a time and records which
// line it is on; the handler runs while that line is current. The reader
// also checks each line's syntax first, so *every* malformed line is
// reported (inih itself only returns the first), and hands inih an empty
// line in its place.
#pragma once

#include <string>
#include <vector>

namespace pw::conf {

struct IniSection {
  std::string name;  // as written between the brackets
  int line = 0;
};

struct IniEntry {
  std::string section;
  std::string key;
  std::string value;  // trimmed, inline "; comment" removed (by inih)
  int line = 0;
};

struct IniSyntaxError {
  int line = 0;
  std::string message;
};

struct IniFile {
  std::string open_error;            // set when the file could not be read
  std::vector<IniSection> sections;  // every header, in file order
  std::vector<IniEntry> entries;     // every key = value, in file order
  std::vector<IniSyntaxError> syntax_errors;
};

/// Reads and parses `path`. Never throws.
IniFile read_ini_file(const std::string& path);
/// Parses INI text already in memory (tests, and read_ini_file).
IniFile parse_ini_text(const std::string& text);

}  // namespace pw::conf
