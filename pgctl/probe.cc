// pgctl/probe.cc — see probe.h.
#include "pgctl/probe.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "pgctl/pg_control.h"

namespace pw::pgctl {
namespace {

// The timeline of a primary is in the name of the WAL file it writes (the
// checkpoint's timeline lags right after a promotion); a standby's is the
// highest of what it receives, replays to and last checkpointed.
constexpr const char* kServerSql =
    "SELECT pg_is_in_recovery(), current_setting('server_version_num')::int, "
    "CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END, "
    "pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text, "
    "CASE WHEN pg_is_in_recovery() THEN NULL ELSE "
    "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END, "
    "(SELECT timeline_id FROM pg_control_checkpoint()), "
    "(SELECT min_recovery_end_timeline FROM pg_control_recovery()), "
    "current_setting('max_connections')::int, current_setting('max_worker_processes')::int, "
    "current_setting('max_wal_senders')::int, current_setting('max_prepared_transactions')::int, "
    "current_setting('max_locks_per_transaction')::int";
constexpr const char* kReceiverSql =
    "SELECT status, sender_host, sender_port, received_tli FROM pg_stat_wal_receiver";
constexpr const char* kStandbysSql =
    "SELECT application_name, coalesce(client_addr::text, ''), state, sync_state, "
    "replay_lsn::text FROM pg_stat_replication ORDER BY application_name";
constexpr const char* kSlotsSql =
    "SELECT slot_name, active, restart_lsn::text FROM pg_replication_slots "
    "WHERE slot_type = 'physical' ORDER BY slot_name";
constexpr const char* kPendingRestartSql = "SELECT name FROM pg_settings WHERE pending_restart ORDER BY name";

uint64_t lsn_or_zero(const QueryResult& r, size_t row, size_t col) {
  uint64_t v = 0;
  if (!r.is_null(row, col)) parse_lsn(r.at(row, col), &v);
  return v;
}

uint32_t u32_or_zero(const QueryResult& r, size_t row, size_t col) {
  return r.is_null(row, col)
             ? 0
             : static_cast<uint32_t>(std::strtoul(r.at(row, col).c_str(), nullptr, 10));
}

}  // namespace

void start_probe(TaskSet& tasks, const PqConn::Params& params, int64_t timeout_ms,
                 std::function<void(const Status&)> cb) {
  auto st = std::make_shared<Status>();
  SqlTask& t = tasks.add(params, timeout_ms, "probe", [st, cb = std::move(cb)](const Result& r) {
    if (!r.ok) {
      Status failed;  // partial answers are not trustworthy: report "not running"
      failed.running = false;
      failed.error = r.error;
      cb(failed);
      return;
    }
    cb(*st);
  });
  t.start([st](SqlTask& t) {
    t.run(kServerSql, {}, [st](SqlTask& t, const QueryResult& r) {
      if (r.rows.size() != 1 || r.columns.size() != 13) {
        t.finish(Result::failure("probe: unexpected answer shape"));
        return;
      }
      st->running = true;
      st->in_recovery = r.at(0, 0) == "t";
      st->server_version = u32_or_zero(r, 0, 1);
      st->current_lsn = lsn_or_zero(r, 0, 2);
      st->receive_lsn = lsn_or_zero(r, 0, 3);
      st->replay_lsn = lsn_or_zero(r, 0, 4);
      st->settings.max_connections = static_cast<int>(u32_or_zero(r, 0, 8));
      st->settings.max_worker_processes = static_cast<int>(u32_or_zero(r, 0, 9));
      st->settings.max_wal_senders = static_cast<int>(u32_or_zero(r, 0, 10));
      st->settings.max_prepared_transactions = static_cast<int>(u32_or_zero(r, 0, 11));
      st->settings.max_locks_per_transaction = static_cast<int>(u32_or_zero(r, 0, 12));
      if (!st->in_recovery) {
        st->timeline = u32_or_zero(r, 0, 5);
      } else {
        st->timeline = std::max(u32_or_zero(r, 0, 6), u32_or_zero(r, 0, 7));
      }
      t.run(kReceiverSql, {}, [st](SqlTask& t, const QueryResult& r) {
        if (!r.rows.empty()) {
          st->wal_receiver_status = r.at(0, 0);
          st->wal_receiver_streaming = r.at(0, 0) == "streaming";
          st->upstream_host = r.at(0, 1);
          st->upstream_port = static_cast<uint16_t>(u32_or_zero(r, 0, 2));
          if (st->in_recovery) st->timeline = std::max(st->timeline, u32_or_zero(r, 0, 3));
        }
        t.run(kStandbysSql, {}, [st](SqlTask& t, const QueryResult& r) {
          for (size_t i = 0; i < r.rows.size(); ++i) {
            Status::Standby s;
            s.application_name = r.at(i, 0);
            s.client_addr = r.at(i, 1);
            s.state = r.at(i, 2);
            s.sync_state = r.at(i, 3);
            s.replay_lsn = lsn_or_zero(r, i, 4);
            if (st->current_lsn > s.replay_lsn) s.lag_bytes = st->current_lsn - s.replay_lsn;
            st->standbys.push_back(std::move(s));
          }
          t.run(kSlotsSql, {}, [st](SqlTask& t, const QueryResult& r) {
            for (size_t i = 0; i < r.rows.size(); ++i) {
              Status::Slot s;
              s.name = r.at(i, 0);
              s.active = r.at(i, 1) == "t";
              s.restart_lsn = lsn_or_zero(r, i, 2);
              st->slots.push_back(std::move(s));
            }
            t.run(kPendingRestartSql, {}, [st](SqlTask& t, const QueryResult& r) {
              for (size_t i = 0; i < r.rows.size(); ++i) st->pending_restart.push_back(r.at(i, 0));
              t.finish(Result::success());
            });
          });
        });
      });
    });
  });
}

}  // namespace pw::pgctl
