// pgctl/secrets.cc — see secrets.h.
#include "pgctl/secrets.h"

#include <sys/stat.h>

#include <cerrno>

#include "pgctl/fs.h"
#include "pgctl/managed_conf.h"

namespace pw::pgctl {

bool read_password_file(const std::string& path, std::string* password, std::string* error,
                        const std::string& what) {
  if (path.empty()) {
    *error = "no " + what + " configured";
    return false;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    *error = "cannot read " + what + " " + path + ": " + errno_text(errno);
    return false;
  }
  if (st.st_mode & 077) {
    *error = what + " " + path + " is readable by group or others: chmod 0600 it";
    return false;
  }
  std::string text;
  if (!read_file(path, &text, error, 4096)) return false;
  std::string pw = text.substr(0, text.find_first_of("\r\n"));
  if (pw.empty()) {
    *error = what + " " + path + " is empty";
    return false;
  }
  *password = pw;
  return true;
}

bool write_passfile(const std::string& passfile, const std::string& user,
                    const std::string& password, std::string* error) {
  return write_file_atomic(passfile, pgpass_line(user, password), 0600, error);
}

}  // namespace pw::pgctl
