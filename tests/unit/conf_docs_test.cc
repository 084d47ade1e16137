// tests/unit/conf_docs_test.cc — the documentation says what conf/schema.cc
// says, key by key.
//
// The rules, each failure naming the file to fix:
// * README.md's configuration table is exactly `pgwarden check-config
//   --reference` (reference_markdown()), so defaults and meanings there
//   cannot drift from the schema;
// * every key is also explained in prose somewhere in docs/*.md, where it
//   is written with its section: `[proxy] hold_timeout` (the section and
//   the key may be in separate code spans or on separate lines). A key
//   name alone does not count: `port` and `listen_address` exist in
//   several sections;
// * every code span that names a section and a key (`[postgresql] x`,
//   `[proxy]` `x`) in docs/, README.md or a module README names a key that
//   exists.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/source_files.h"
#include "conf/config.h"
#include "conf/schema.h"

using namespace pw::conf;
namespace fs = std::filesystem;

using pw::test::read_file;
using pw::test::source_dir;

namespace {

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// True when `text` writes `[section]` followed by `key` with only spaces,
// line breaks and backticks between, and the key not continuing.
bool names_key(const std::string& text, const std::string& section, const std::string& key) {
  const std::string head = "[" + section + "]";
  for (size_t at = text.find(head); at != std::string::npos; at = text.find(head, at + 1)) {
    size_t i = at + head.size();
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '`')) ++i;
    if (text.compare(i, key.size(), key) == 0 && (i + key.size() == text.size() || !ident_char(text[i + key.size()])))
      return true;
  }
  return false;
}

// Where a section's keys are explained; named in the failure message.
const char* home_doc(const std::string& section) {
  static const std::map<std::string, const char*> kHome = {
      {"node", "docs/operations.md"},   {"cluster", "docs/operations.md"}, {"raft", "docs/consensus.md"},
      {"postgresql", "docs/postgres.md"}, {"proxy", "docs/proxy.md"},     {"api", "docs/api.md"},
      {"tls", "docs/security.md"},      {"ha", "docs/operations.md"},      {"bootstrap", "docs/operations.md"},
      {"tags", "docs/operations.md"}};
  auto it = kHome.find(section);
  return it == kHome.end() ? "docs/operations.md" : it->second;
}

std::map<std::string, std::string> docs_files() {
  std::map<std::string, std::string> out;  // "docs/x.md" -> text
  for (const auto& e : fs::directory_iterator(fs::path(source_dir()) / "docs"))
    if (e.path().extension() == ".md") out["docs/" + e.path().filename().string()] = read_file(e.path());
  REQUIRE(out.size() > 3);
  return out;
}

// README.md and every module's README.md (top-level folders only; build
// directories have none).
std::map<std::string, std::string> readme_files() {
  std::map<std::string, std::string> out;
  out["README.md"] = read_file(fs::path(source_dir()) / "README.md");
  for (const auto& e : fs::directory_iterator(source_dir())) {
    fs::path r = e.path() / "README.md";
    if (e.is_directory() && fs::exists(r)) out[e.path().filename().string() + "/README.md"] = read_file(r);
  }
  return out;
}

// README.md's table: from its header row to the first line that is not a row.
std::string readme_table(const std::string& readme) {
  size_t b = readme.find("| Key | Default | Meaning |");
  if (b == std::string::npos) return "";
  size_t e = b;
  while (e < readme.size() && readme[e] == '|') {
    size_t nl = readme.find('\n', e);
    e = nl == std::string::npos ? readme.size() : nl + 1;
  }
  return readme.substr(b, e - b);
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("the key rule matches a key written with its section", "[conf][docs]") {
  CHECK(names_key("set `[proxy] hold_timeout = 5s`", "proxy", "hold_timeout"));
  CHECK(names_key("`[proxy]`\n`hold_timeout`", "proxy", "hold_timeout"));
  CHECK(names_key("[raft] port.", "raft", "port"));
  CHECK_FALSE(names_key("[raft] ports", "raft", "port"));
  CHECK_FALSE(names_key("[proxy] port", "raft", "port"));
  CHECK_FALSE(names_key("`port` of [raft]", "raft", "port"));
}

TEST_CASE("README.md's configuration table is check-config --reference", "[conf][docs]") {
  const std::string table = readme_table(read_file(fs::path(source_dir()) / "README.md"));
  const std::string want = reference_markdown();
  if (table == want) return;
  std::vector<std::string> have = lines(table), should = lines(want);
  std::string diff;
  for (size_t i = 0; i < std::max(have.size(), should.size()); ++i) {
    std::string h = i < have.size() ? have[i] : "(missing)";
    std::string s = i < should.size() ? should[i] : "(nothing)";
    if (h != s) diff += "  README.md:  " + h + "\n  schema.cc:  " + s + "\n";
  }
  FAIL("README.md's configuration table differs from conf/schema.cc; fix the schema's text if the README "
       "was right, then paste the output of `pgwarden check-config --reference` into README.md:\n"
       << diff);
}

TEST_CASE("every configuration key is explained with its section in docs/", "[conf][docs]") {
  const auto docs = docs_files();
  std::string missing;
  for (const KeySpec& k : schema()) {
    bool found = false;
    for (const auto& [name, text] : docs) found = found || names_key(text, k.section, k.key);
    if (!found)
      missing += std::string("  [") + k.section + "] " + k.key + "  -> explain it in " + home_doc(k.section) + "\n";
  }
  INFO("no docs/*.md file writes these keys with their section (as `[section] key`):\n" << missing);
  CHECK(missing.empty());
  bool parameters = false;
  for (const auto& [name, text] : docs)
    parameters = parameters || text.find(std::string("[") + kParametersSection + "]") != std::string::npos;
  CHECK(parameters);
}

TEST_CASE("every `[section] key` the docs name exists", "[conf][docs]") {
  auto files = docs_files();
  files.merge(readme_files());
  std::string wrong;
  for (const auto& [name, text] : files) {
    for (size_t at = text.find("`["); at != std::string::npos; at = text.find("`[", at + 1)) {
      size_t close = text.find(']', at);
      if (close == std::string::npos) break;
      std::string section = text.substr(at + 2, close - at - 2);
      if (section == kParametersSection || !is_known_section(section)) continue;
      // The key follows in the same code span ("`[s] key") or the next ("`[s]` `key").
      size_t i = close + 1;
      if (text.compare(i, 1, " ") == 0) i += 1;
      else if (text.compare(i, 3, "` `") == 0) i += 3;
      else continue;
      size_t e = i;
      while (e < text.size() && ident_char(text[e])) ++e;
      std::string key = text.substr(i, e - i);
      if (key.empty() || find_key(section, key)) continue;
      size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
      wrong += "  " + name + ":" + std::to_string(line) + ": [" + section + "] " + key + "\n";
    }
  }
  INFO("these name keys conf/schema.cc does not have (fix the doc, see conf/schema.cc):\n" << wrong);
  CHECK(wrong.empty());
}
