// tests/unit/conf_ini_test.cc — the inih front end: line numbers of every
// key and section, comments, long lines, and every syntax error reported.
#include <catch2/catch.hpp>

#include "conf/ini_file.h"

using namespace pw::conf;

TEST_CASE("keys and sections carry their physical line numbers", "[conf][ini]") {
  IniFile f = parse_ini_text(
      "; a comment\n"
      "# another comment\n"
      "\n"
      "[node]\n"
      "name = n1   ; inline comment\n"
      "\n"
      "   indented = yes\n"
      "[cluster]\n"
      "members = a=1.2.3.4, b=1.2.3.5\n"
      "colon: style\n"
      "url = postgres://x;y\n");
  REQUIRE(f.syntax_errors.empty());
  REQUIRE(f.sections.size() == 2);
  CHECK(f.sections[0].name == "node");
  CHECK(f.sections[0].line == 4);
  CHECK(f.sections[1].line == 8);
  REQUIRE(f.entries.size() == 5);
  CHECK(f.entries[0].key == "name");
  CHECK(f.entries[0].value == "n1");  // inline comment stripped
  CHECK(f.entries[0].line == 5);
  // An indented line is a key of its own, not a continuation of "name".
  CHECK(f.entries[1].key == "indented");
  CHECK(f.entries[1].value == "yes");
  CHECK(f.entries[1].line == 7);
  CHECK(f.entries[2].section == "cluster");
  CHECK(f.entries[2].value == "a=1.2.3.4, b=1.2.3.5");
  CHECK(f.entries[2].line == 9);
  CHECK(f.entries[3].key == "colon");
  CHECK(f.entries[3].line == 10);
  CHECK(f.entries[4].value == "postgres://x;y");  // ';' without a space before is data
  CHECK(f.entries[4].line == 11);
}

TEST_CASE("long lines are read whole, with correct numbering after them", "[conf][ini]") {
  std::string members;
  for (int i = 0; i < 40; ++i)
    members += (i ? ", " : "") + std::string("member-") + std::to_string(i) + "=10.0.0." +
               std::to_string(i + 1);
  REQUIRE(members.size() > 600);  // far over inih's default 200-byte line
  IniFile f = parse_ini_text("[cluster]\nmembers = " + members + "\nname = after\n");
  REQUIRE(f.syntax_errors.empty());
  REQUIRE(f.entries.size() == 2);
  CHECK(f.entries[0].value == members);
  CHECK(f.entries[0].line == 2);
  CHECK(f.entries[1].line == 3);
}

TEST_CASE("a line past the limit is an error, not silently cut", "[conf][ini]") {
  IniFile f = parse_ini_text("[a]\nk = " + std::string(70000, 'x') + "\nz = 1\n");
  REQUIRE(f.syntax_errors.size() == 1);
  CHECK(f.syntax_errors[0].line == 2);
  CHECK(f.syntax_errors[0].message.find("longer than") != std::string::npos);
  REQUIRE(f.entries.size() == 1);
  CHECK(f.entries[0].key == "z");
  CHECK(f.entries[0].line == 3);
}

TEST_CASE("every malformed line is reported, not only the first", "[conf][ini]") {
  IniFile f = parse_ini_text(
      "[node]\n"
      "just words\n"
      "[broken\n"
      "ok = 1\n"
      "= no key\n"
      "[x] trailing\n"
      "[" +
      std::string(60, 's') + "]\n" + std::string(60, 'k') +
      " = 1\n"
      "semi ; = 3\n");
  REQUIRE(f.syntax_errors.size() == 7);
  CHECK(f.syntax_errors[0].line == 2);
  CHECK(f.syntax_errors[0].message.find("expected 'key = value'") != std::string::npos);
  CHECK(f.syntax_errors[1].line == 3);
  CHECK(f.syntax_errors[1].message.find("lacks ']'") != std::string::npos);
  CHECK(f.syntax_errors[2].line == 5);
  CHECK(f.syntax_errors[2].message.find("missing key name") != std::string::npos);
  CHECK(f.syntax_errors[3].line == 6);
  CHECK(f.syntax_errors[3].message.find("after section header") != std::string::npos);
  CHECK(f.syntax_errors[4].line == 7);
  CHECK(f.syntax_errors[4].message.find("section name is longer") != std::string::npos);
  CHECK(f.syntax_errors[5].line == 8);
  CHECK(f.syntax_errors[5].message.find("is longer than 49") != std::string::npos);
  CHECK(f.syntax_errors[6].line == 9);  // the '=' is inside an inline comment
  // The good line between them still counts.
  REQUIRE(f.entries.size() == 1);
  CHECK(f.entries[0].key == "ok");
  CHECK(f.entries[0].line == 4);
}

TEST_CASE("CRLF line ends, a UTF-8 BOM and a missing final newline", "[conf][ini]") {
  IniFile f = parse_ini_text("\xEF\xBB\xBF[node]\r\nname = n1\r\n\r\nport = 5\r\nlast = x");
  REQUIRE(f.syntax_errors.empty());
  REQUIRE(f.sections.size() == 1);
  CHECK(f.sections[0].name == "node");
  REQUIRE(f.entries.size() == 3);
  CHECK(f.entries[0].value == "n1");
  CHECK(f.entries[1].line == 4);
  CHECK(f.entries[2].value == "x");
  CHECK(f.entries[2].line == 5);
}

TEST_CASE("keys before any section have an empty section", "[conf][ini]") {
  IniFile f = parse_ini_text("stray = 1\n[node]\nname = n\n");
  REQUIRE(f.entries.size() == 2);
  CHECK(f.entries[0].section.empty());
  CHECK(f.entries[0].line == 1);
}

TEST_CASE("a missing file is an open error", "[conf][ini]") {
  IniFile f = read_ini_file("/nonexistent/pgwarden.ini");
  CHECK(f.open_error.find("No such file") != std::string::npos);
}
