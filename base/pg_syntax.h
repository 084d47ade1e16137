// base/pg_syntax.h — PostgreSQL's own configuration-file syntax, as far as
// pgwarden passes text through to it: values of postgresql.conf and lines
// of pg_hba.conf. Shared by conf/ (which rejects bad text at load time, with
// file, line and key) and pgctl/ (which writes the files): pure functions,
// no I/O.
#pragma once

#include <string>
#include <string_view>

namespace pw::pgsyntax {

/// `value` as a single-quoted postgresql.conf string: quotes doubled,
/// backslashes doubled, line breaks turned into spaces.
std::string quote_conf_value(std::string_view value);

/// What to write after `name = ` in postgresql.conf for a value given the
/// way an operator writes it in [postgresql.parameters]:
///  * already quoted the PostgreSQL way ('...' with '' or \' inside): kept
///    as written, once the quoting is checked;
///  * anything else (bare): quoted with quote_conf_value.
/// In both forms a `#` outside quotes that follows whitespace starts a
/// comment, as in postgresql.conf, and is dropped. `error` is set (and text
/// empty) when a quoted value is not closed or is followed by other text.
struct ConfValue {
  std::string text;
  std::string error;
  bool ok() const { return error.empty(); }
};
ConfValue conf_value(std::string_view value);

/// Checks one pg_hba.conf rule: TYPE DATABASE USER [ADDRESS [MASK]] METHOD
/// [OPTION=VALUE ...], with TYPE one of local, host, hostssl, hostnossl,
/// hostgssenc, hostnogssenc; an address (CIDR, IP + mask, host name, all,
/// samehost, samenet) exactly for the host types; a method PostgreSQL knows
/// for that type. Returns "" or what is wrong, in words for an operator.
/// Blank lines and comments are not rules: the caller skips them.
std::string hba_line_problem(std::string_view line);

}  // namespace pw::pgsyntax
