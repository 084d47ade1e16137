// proxy/refusal.h — what a session needs only while it refuses a client in
// PostgreSQL's protocol (allocated on demand so normal sessions stay small).
#pragma once

#include <string>

#include "proxy/pg_wire.h"

namespace pw::proxy {

struct Refusal {
  wire::FirstPacketScanner scan;
  std::string reply;  // the ErrorResponse sent once the StartupMessage is read
  std::string why;    // for the log line
};

}  // namespace pw::proxy
