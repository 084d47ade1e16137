// pgctl/pg_control.h — decoding of PostgreSQL's global/pg_control file
// (ControlFileData) for PostgreSQL 12–17, without running pg_controldata.
//
// Why parse instead of running pg_controldata: inspection is synchronous and
// must never block the event loop on a child process. The fields we need sit
// at offsets that are identical from 12 to 17 (verified against
// pg_controldata in tests/integration/pgctl_inspect_test.cc):
//
//   0   uint64 system_identifier
//   8   uint32 pg_control_version   (1201: PG12, 1300: PG13–16, 1700: PG17)
//   12  uint32 catalog_version_no
//   16  int32  state                (DBState enum, unchanged since 9.x)
//   24  int64  time
//   32  uint64 checkPoint           (LSN of the latest checkpoint record)
//   40  CheckPoint checkPointCopy   (redo @+0, ThisTimeLineID @+8; 88 bytes)
//   128 uint64 unloggedLSN
//   136 uint64 minRecoveryPoint
//   144 uint32 minRecoveryPointTLI
//   180 int32  MaxConnections, 184 max_worker_processes, 188 max_wal_senders,
//   192 max_prepared_xacts, 196 max_locks_per_xact (the primary's settings a
//          hot standby needs; a standby's copy follows PARAMETER_CHANGE records)
//
// The file ends its meaningful part with a CRC-32C over everything before it;
// its offset differs between versions, so the decoder looks for the 4-byte
// aligned position where the stored CRC matches the computed one. A file
// that matches nowhere is reported as corrupt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "pgctl/hot_standby_params.h"

namespace pw::pgctl {

/// DBState values (src/include/catalog/pg_control.h), the same for 12–17.
enum class DbState : int32_t {
  startup = 0,
  shut_down = 1,
  shut_down_in_recovery = 2,
  shutting_down = 3,
  in_crash_recovery = 4,
  in_archive_recovery = 5,
  in_production = 6,
};
const char* db_state_name(DbState s);

struct ControlData {
  uint64_t system_id = 0;
  uint32_t control_version = 0;
  uint32_t catalog_version = 0;
  DbState state = DbState::startup;
  int64_t time = 0;  // wall-clock seconds of the last update
  uint64_t checkpoint_lsn = 0;
  uint64_t redo_lsn = 0;
  uint32_t timeline = 0;          // ThisTimeLineID of the latest checkpoint
  uint64_t min_recovery_lsn = 0;  // standby: replayed at least up to here
  uint32_t min_recovery_timeline = 0;
  size_t crc_offset = 0;  // where the matching CRC was found
  HotStandbyParams params;  // all 0 when the file is too short to hold them
};

/// CRC-32C (Castagnoli), as PostgreSQL computes it for pg_control and WAL.
uint32_t crc32c(const void* data, size_t len);

/// Decodes `len` bytes of a pg_control file. Returns false with `*error`
/// set (what is wrong, in words for an operator) when the bytes are not a
/// pg_control of a supported version or fail the CRC check. Total function:
/// any input is safe.
bool parse_pg_control(const uint8_t* data, size_t len, ControlData* out, std::string* error);

/// The major version a pg_control_version belongs to (12, 13 for 13–16,
/// 17), 0 when unknown.
uint32_t control_version_major_floor(uint32_t control_version);

/// Formats an LSN the way PostgreSQL does: "16/B374D848".
std::string format_lsn(uint64_t lsn);
/// Parses "16/B374D848"; false on malformed input.
bool parse_lsn(const std::string& text, uint64_t* lsn);

}  // namespace pw::pgctl
