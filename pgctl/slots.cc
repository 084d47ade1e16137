// pgctl/slots.cc — see slots.h.
#include "pgctl/slots.h"

#include <memory>
#include <set>

#include "base/log.h"

namespace pw::pgctl {
namespace {

struct SlotSync {
  std::set<std::string> wanted;
  std::vector<std::string> to_create, to_drop;
  size_t created = 0, dropped = 0, busy = 0;
};

void create_next(SqlTask& t, std::shared_ptr<SlotSync> s);
void drop_next(SqlTask& t, std::shared_ptr<SlotSync> s);

void create_next(SqlTask& t, std::shared_ptr<SlotSync> s) {
  if (s->to_create.empty()) {
    drop_next(t, s);
    return;
  }
  std::string name = s->to_create.back();
  s->to_create.pop_back();
  t.run("SELECT pg_create_physical_replication_slot($1, true)", {name},
        [s, name](SqlTask& t, const QueryResult&) {
          PW_INFO("pgctl", "slot created name=%s", name.c_str());
          ++s->created;
          create_next(t, s);
        });
}

void drop_next(SqlTask& t, std::shared_ptr<SlotSync> s) {
  if (s->to_drop.empty()) {
    PW_DEBUG("pgctl", "slots synced created=%zu dropped=%zu busy=%zu", s->created, s->dropped,
             s->busy);
    t.finish(Result::success());
    return;
  }
  std::string name = s->to_drop.back();
  s->to_drop.pop_back();
  // Only an inactive slot can be dropped; the WHERE makes a slot that
  // became active meanwhile a no-op instead of an error.
  t.run(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
      "WHERE slot_name = $1 AND NOT active",
      {name}, [s, name](SqlTask& t, const QueryResult& r) {
        if (r.rows.empty()) {
          ++s->busy;
          PW_WARN("pgctl", "slot not dropped name=%s reason=\"in use\"", name.c_str());
        } else {
          ++s->dropped;
          PW_INFO("pgctl", "slot dropped name=%s", name.c_str());
        }
        drop_next(t, s);
      });
}

}  // namespace

std::string sanitize_slot_name(const std::string& member) {
  std::string out;
  for (char c : member) {
    if (c >= 'A' && c <= 'Z')
      out += static_cast<char>(c - 'A' + 'a');
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
      out += c;
    else
      out += '_';
  }
  if (out.empty()) out = "_";
  if (out.size() > 63) out.resize(63);
  return out;
}

void start_sync_slots(TaskSet& tasks, const PqConn::Params& params, int64_t timeout_ms,
                      std::vector<std::string> names, Done cb) {
  auto s = std::make_shared<SlotSync>();
  for (auto& n : names) s->wanted.insert(n);
  SqlTask& task = tasks.add(params, timeout_ms, "sync_slots", std::move(cb));
  task.start([s](SqlTask& t) {
    t.run("SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical'", {},
          [s](SqlTask& t, const QueryResult& r) {
            std::set<std::string> have;
            for (size_t i = 0; i < r.rows.size(); ++i) {
              have.insert(r.at(i, 0));
              if (!s->wanted.count(r.at(i, 0))) s->to_drop.push_back(r.at(i, 0));
            }
            for (const auto& w : s->wanted)
              if (!have.count(w)) s->to_create.push_back(w);
            create_next(t, s);
          });
  });
}

}  // namespace pw::pgctl
