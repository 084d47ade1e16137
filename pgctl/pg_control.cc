// pgctl/pg_control.cc — see pg_control.h. Pure decoding, no I/O.
#include "pgctl/pg_control.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace pw::pgctl {
namespace {

// Reflected CRC-32C table (polynomial 0x82F63B78), built once.
std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // pg_control is in host byte order
  return v;
}

// Offsets shared by PostgreSQL 12–17 (see the header for the layout).
constexpr size_t kOffSystemId = 0;
constexpr size_t kOffControlVersion = 8;
constexpr size_t kOffCatalogVersion = 12;
constexpr size_t kOffState = 16;
constexpr size_t kOffTime = 24;
constexpr size_t kOffCheckpoint = 32;
constexpr size_t kOffCheckpointRedo = 40;
constexpr size_t kOffCheckpointTli = 48;
constexpr size_t kOffMinRecovery = 136;
constexpr size_t kOffMinRecoveryTli = 144;
constexpr size_t kOffMaxConnections = 180;  // then four more int32 settings
constexpr size_t kParamsEnd = 200;
// The CRC follows the last field; it sits around byte 288–300 in 12–17.
// Search a generous window so a future minor layout change still decodes.
constexpr size_t kCrcSearchFrom = 148;
constexpr size_t kCrcSearchTo = 1024;

}  // namespace

const char* db_state_name(DbState s) {
  switch (s) {
    case DbState::startup:
      return "starting up";
    case DbState::shut_down:
      return "shut down";
    case DbState::shut_down_in_recovery:
      return "shut down in recovery";
    case DbState::shutting_down:
      return "shutting down";
    case DbState::in_crash_recovery:
      return "in crash recovery";
    case DbState::in_archive_recovery:
      return "in archive recovery";
    case DbState::in_production:
      return "in production";
  }
  return "unknown";
}

uint32_t crc32c(const void* data, size_t len) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t control_version_major_floor(uint32_t v) {
  switch (v) {
    case 1201:
      return 12;
    case 1300:
      return 13;
    case 1700:
      return 17;
    default:
      return 0;
  }
}

bool parse_pg_control(const uint8_t* data, size_t len, ControlData* out, std::string* error) {
  if (len < kCrcSearchFrom + 4) {
    *error = "pg_control is too short (" + std::to_string(len) + " bytes)";
    return false;
  }
  ControlData c;
  c.control_version = load<uint32_t>(data + kOffControlVersion);
  if (control_version_major_floor(c.control_version) == 0) {
    *error = "pg_control version " + std::to_string(c.control_version) +
             " is not one of PostgreSQL 12-17 (1201, 1300, 1700): corrupt file or unsupported "
             "version";
    return false;
  }
  size_t limit = std::min(len - 4, kCrcSearchTo);
  for (size_t off = kCrcSearchFrom; off <= limit; off += 4) {
    if (crc32c(data, off) == load<uint32_t>(data + off)) {
      c.crc_offset = off;
      break;
    }
  }
  if (c.crc_offset == 0) {
    *error = "pg_control CRC check failed: the file is corrupt";
    return false;
  }
  int32_t state = load<int32_t>(data + kOffState);
  if (state < 0 || state > static_cast<int32_t>(DbState::in_production)) {
    *error = "pg_control has an unknown cluster state " + std::to_string(state);
    return false;
  }
  c.system_id = load<uint64_t>(data + kOffSystemId);
  c.catalog_version = load<uint32_t>(data + kOffCatalogVersion);
  c.state = static_cast<DbState>(state);
  c.time = load<int64_t>(data + kOffTime);
  c.checkpoint_lsn = load<uint64_t>(data + kOffCheckpoint);
  c.redo_lsn = load<uint64_t>(data + kOffCheckpointRedo);
  c.timeline = load<uint32_t>(data + kOffCheckpointTli);
  c.min_recovery_lsn = load<uint64_t>(data + kOffMinRecovery);
  c.min_recovery_timeline = load<uint32_t>(data + kOffMinRecoveryTli);
  if (c.crc_offset >= kParamsEnd) {
    const uint8_t* p = data + kOffMaxConnections;
    c.params.max_connections = load<int32_t>(p);
    c.params.max_worker_processes = load<int32_t>(p + 4);
    c.params.max_wal_senders = load<int32_t>(p + 8);
    c.params.max_prepared_transactions = load<int32_t>(p + 12);
    c.params.max_locks_per_transaction = load<int32_t>(p + 16);
  }
  *out = c;
  return true;
}

std::string format_lsn(uint64_t lsn) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIX32 "/%" PRIX32, static_cast<uint32_t>(lsn >> 32),
           static_cast<uint32_t>(lsn));
  return buf;
}

bool parse_lsn(const std::string& text, uint64_t* lsn) {
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size() || slash > 8 ||
      text.size() - slash - 1 > 8)
    return false;
  uint64_t hi = 0, lo = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == slash) continue;
    char ch = text[i];
    int d;
    if (ch >= '0' && ch <= '9')
      d = ch - '0';
    else if (ch >= 'A' && ch <= 'F')
      d = ch - 'A' + 10;
    else if (ch >= 'a' && ch <= 'f')
      d = ch - 'a' + 10;
    else
      return false;
    uint64_t& part = i < slash ? hi : lo;
    part = part * 16 + static_cast<uint64_t>(d);
  }
  *lsn = (hi << 32) | lo;
  return true;
}

}  // namespace pw::pgctl
