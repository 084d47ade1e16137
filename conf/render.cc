// conf/render.cc — render_config() prints the effective configuration as INI
// that load_config() reads back to the same Config; reference_markdown()
// prints the key table for README.md. Both walk conf/schema.
#include <algorithm>
#include <set>

#include "conf/config.h"
#include "conf/schema.h"
#include "conf/values.h"

namespace pw::conf {

std::string render_config(const Config& c) {
  std::string out = "; effective configuration";
  if (!c.source_file.empty()) out += " of " + c.source_file;
  out += "\n; every key with its value or default; secrets are shown as the files that hold them\n";
  for (const std::string& section : section_names()) {
    out += "\n[" + section + "]\n";
    if (section == kParametersSection) {
      if (c.pg_parameters.empty()) out += "; (none)\n";
      for (const auto& [k, v] : c.pg_parameters) out += k + " = " + v + "\n";
      continue;
    }
    for (const KeySpec& k : schema()) {
      if (section != k.section) continue;
      std::string v = k.show(c);
      // Unset optional keys stay visible, as comments, so the output still
      // lists every key and still reads back to the same configuration.
      if (v.empty() && !k.required)
        out += std::string("; ") + k.key + " =   (not set)\n";
      else if (repeatable_key(k.section, k.key))  // one line per value
        for (size_t b = 0; b <= v.size();) {
          size_t e = std::min(v.find('\n', b), v.size());
          out += std::string(k.key) + " = " + v.substr(b, e - b) + "\n";
          b = e + 1;
        }
      else
        out += std::string(k.key) + " = " + v + "\n";
    }
  }
  return out;
}

std::string reference_markdown() {
  const Config defaults;
  std::string out = "| Key | Default | Meaning |\n| --- | --- | --- |\n";
  auto cell = [](std::string s) {
    std::string r;
    for (char ch : s) r += ch == '|' ? std::string("\\|") : std::string(1, ch);
    return r;
  };
  for (const std::string& section : section_names()) {
    if (section == kParametersSection) {
      out += "| `[" + section +
             "]` *any* | | Passed to postgresql.conf bare or quoted as there (`shared_buffers = "
             "1GB`, `ssl_cert_file = '/etc/ssl/x.crt'`; a broken quote is a config error); "
             "parameters pgwarden sets itself (port, listen_addresses, primary_conninfo, "
             "synchronous_standby_names, ...) are refused |\n";
      continue;
    }
    for (const KeySpec& k : schema()) {
      if (section != k.section) continue;
      // Built with append: g++ 12's -Wrestrict misfires on `"lit" + string&&` at -O2.
      std::string def;
      if (k.required) {
        def = "**required**";
      } else if (k.default_doc) {
        def = k.default_doc;
      } else {
        def.append("`").append(k.show(defaults)).append("`");
      }
      out +=
          "| `[" + section + "]` `" + k.key + "` | " + cell(def) + " | " + cell(k.meaning) + " |\n";
    }
  }
  return out;
}

}  // namespace pw::conf
