// ha/local_pg.cc — see local_pg.h.
#include "ha/local_pg.h"

#include <algorithm>

namespace pw::node {

using Kind = pgctl::DataDirInfo::Kind;

bool LocalPg::probe(int64_t now, std::function<void()> changed, std::function<void()> done) {
  if (probe_inflight_) return false;
  probe_inflight_ = true;
  uint64_t marks = marks_;
  pg_.probe([this, changed, done, marks, now](const pgctl::Status& st) {
    probe_inflight_ = false;
    ++probes_done_;
    // An operation finished while this probe ran (a start, a stop): what it
    // recorded is newer than what the probe saw (found through /ui: a probe
    // from before a standby's start made the agent start it twice).
    if (marks != marks_) return;
    bool was_running = status_.running;
    status_ = st;
    probed_at_ = now;
    if (st.running && !st.in_recovery && pg_.postmaster_pid() > 0) {
      primary_ = true;
      if (st.timeline != 0) writing_timeline_ = st.timeline;
    }
    if (st.running != was_running && changed) changed();
    if (done) done();
  });
  return true;
}

void LocalPg::refresh() {
  data_ = pg_.inspect();
  if (data_.kind == Kind::cluster && !data_.was_standby && !primary_) needs_rewind_ = true;
  if (pg_.postmaster_pid() == 0) {
    following_.clear();
    primary_ = false;
  }
}

uint32_t LocalPg::timeline() {
  if (data_.kind != Kind::cluster || data_.system_id != tl_system_id_) {
    tl_high_ = 0;
    tl_system_id_ = data_.system_id;
  }
  if (!status_.running) return data_.timeline;
  // A data directory's timeline never goes back.
  tl_high_ = std::max({tl_high_, status_.timeline, data_.timeline});
  return tl_high_;
}

}  // namespace pw::node
