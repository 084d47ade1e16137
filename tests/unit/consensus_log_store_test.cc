// tests/unit/consensus_log_store_test.cc — durable Raft storage: restart
// survival, torn-tail recovery at every byte of the last record, refusal on
// corruption elsewhere (naming file and offset), suffix truncation, segment
// rolling and compaction, snapshot install, and the cluster identity check.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/log.h"
#include "consensus/identity.h"
#include "consensus/log_store.h"
#include "support/log_capture.h"
#include "support/tmpdir.h"
#include "support/strf.h"

using namespace pw::consensus;
namespace fs = std::filesystem;

namespace {

using pw::test::label;
using pw::test::LogCapture;

std::vector<Entry> make_entries(uint64_t from, uint64_t to, uint64_t term,
                                const std::string& tag = "x") {
  std::vector<Entry> v;
  for (uint64_t i = from; i <= to; ++i)
    v.push_back(Entry{term, i, EntryType::normal, label(tag.c_str(), i)});
  return v;
}

LogStoreOptions opts_for(const std::string& dir, uint64_t seg = 64ull << 20) {
  LogStoreOptions o;
  o.dir = dir;
  o.segment_bytes = seg;
  return o;
}

std::vector<std::string> segments_in(const std::string& dir) {
  std::vector<std::string> v;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".seg") v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

void flip_byte(const std::string& path, uint64_t off) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(off));
  char c;
  f.read(&c, 1);
  c ^= 0x5a;
  f.seekp(static_cast<std::streamoff>(off));
  f.write(&c, 1);
}

}  // namespace

TEST_CASE("log store: entries, hard state and snapshot survive a restart") {
  pw::test::TempDir dir("pw-logstore");
  {
    LogStore s(opts_for(dir.path()));
    CHECK(s.last_index() == 0);
    CHECK(s.initial_state().entries.empty());
    s.append(make_entries(1, 10, 1));
    s.save_hard_state(HardState{3, 2, 7});
  }
  LogStore s(opts_for(dir.path()));
  const InitialState& init = s.initial_state();
  CHECK(init.hard_state == HardState{3, 2, 7});
  REQUIRE(init.entries.size() == 10);
  CHECK(init.entries[0] == Entry{1, 1, EntryType::normal, "x1"});
  CHECK(init.entries[9] == Entry{1, 10, EntryType::normal, "x10"});
  CHECK(s.last_index() == 10);
  // Appending continues after a reopen.
  s.append(make_entries(11, 12, 2));
  s.save_hard_state(HardState{4, 0, 12});
  LogStore again(opts_for(dir.path()));
  CHECK(again.initial_state().entries.size() == 12);
  CHECK(again.initial_state().entries.back().term == 2);
  CHECK(again.hard_state() == HardState{4, 0, 12});
}

TEST_CASE("log store: a conflicting suffix is replaced") {
  pw::test::TempDir dir("pw-logstore");
  {
    LogStore s(opts_for(dir.path(), 300));  // small segments: the suffix spans several
    s.append(make_entries(1, 30, 1));
    REQUIRE(s.segment_count() > 3);
    s.append(make_entries(6, 8, 2, "y"));
    CHECK(s.last_index() == 8);
    s.append(make_entries(9, 9, 2, "y"));
  }
  LogStore s(opts_for(dir.path(), 300));
  auto& e = s.initial_state().entries;
  REQUIRE(e.size() == 9);
  CHECK(e[4] == Entry{1, 5, EntryType::normal, "x5"});
  CHECK(e[5] == Entry{2, 6, EntryType::normal, "y6"});
  CHECK(e[8] == Entry{2, 9, EntryType::normal, "y9"});
  CHECK_THROWS_AS(s.append(make_entries(11, 11, 2)), std::logic_error);  // gap
}

TEST_CASE("log store: torn last record is truncated at every byte offset") {
  pw::test::TempDir dir("pw-logstore");
  std::string d0 = dir / "orig";
  uint64_t start = 0, end = 0;
  {
    LogStore s(opts_for(d0));
    s.append(make_entries(1, 4, 1));
    start = fs::file_size(segments_in(d0).at(0));
    s.append({Entry{1, 5, EntryType::normal, std::string(40, 'z')}});
    end = fs::file_size(segments_in(d0).at(0));
  }
  REQUIRE(end > start + 12);
  std::string seg_name = fs::path(segments_in(d0).at(0)).filename().string();
  for (uint64_t cut = start; cut < end; ++cut) {
    INFO("cut at byte " << cut);
    std::string d = dir / (label("cut", cut));
    fs::create_directory(d);
    fs::copy_file(d0 + "/" + seg_name, d + "/" + seg_name);
    fs::resize_file(d + "/" + seg_name, cut);
    LogCapture cap(dir / "log.txt");
    {
      LogStore s(opts_for(d));
      CHECK(s.last_index() == 4);
      REQUIRE(s.initial_state().entries.size() == 4);
      CHECK(s.initial_state().entries.back().data == "x4");
      if (cut > start) CHECK(cap.text().find("torn record") != std::string::npos);
      // The repaired log takes the lost entry again.
      s.append({Entry{2, 5, EntryType::normal, "again"}});
    }
    LogStore s(opts_for(d));
    CHECK(s.last_index() == 5);
    CHECK(s.initial_state().entries.back().data == "again");
    fs::remove_all(d);
  }
}

TEST_CASE("log store: a final record failing its checksum counts as torn") {
  pw::test::TempDir dir("pw-logstore");
  std::string seg;
  {
    LogStore s(opts_for(dir.path()));
    s.append(make_entries(1, 3, 1));
    seg = segments_in(dir.path()).at(0);
  }
  flip_byte(seg, fs::file_size(seg) - 1);  // last byte of the last record's data
  LogStore s(opts_for(dir.path()));
  CHECK(s.last_index() == 2);
}

TEST_CASE("log store: corruption in an earlier record refuses to open, naming file and offset") {
  pw::test::TempDir dir("pw-logstore");
  std::string seg;
  uint64_t rec2 = 0;
  {
    LogStore s(opts_for(dir.path()));
    s.append(make_entries(1, 1, 1));
    seg = segments_in(dir.path()).at(0);
    rec2 = fs::file_size(seg);
    s.append(make_entries(2, 5, 1));
  }
  SECTION("payload byte") {
    flip_byte(seg, rec2 + 12 + 3);
  }
  SECTION("length field") {
    flip_byte(seg, rec2 + 1);
  }
  SECTION("first record") {
    flip_byte(seg, 16 + 20);
  }
  try {
    LogStore s(opts_for(dir.path()));
    FAIL("open succeeded on a corrupt log");
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(seg) != std::string::npos);
    CHECK(msg.find("byte offset") != std::string::npos);
    CHECK(msg.find("move its state directory aside") != std::string::npos);
    bool offset_named = msg.find(label("offset ", rec2)) != std::string::npos ||
                        msg.find("offset 16") != std::string::npos;
    CHECK(offset_named);
  }
}

TEST_CASE("log store: corruption in a non-final segment refuses to open") {
  pw::test::TempDir dir("pw-logstore");
  {
    LogStore s(opts_for(dir.path(), 200));
    s.append(make_entries(1, 20, 1));
    REQUIRE(s.segment_count() >= 3);
  }
  auto segs = segments_in(dir.path());
  // Cutting the tail of an older segment is not a torn append: refuse.
  fs::resize_file(segs[0], fs::file_size(segs[0]) - 3);
  CHECK_THROWS_WITH(LogStore(opts_for(dir.path(), 200)),
                    Catch::Contains(segs[0]) && Catch::Contains("byte offset"));
}

TEST_CASE("log store: corrupt hard state refuses to open") {
  pw::test::TempDir dir("pw-logstore");
  {
    LogStore s(opts_for(dir.path()));
    s.save_hard_state(HardState{5, 1, 0});
  }
  flip_byte(dir / "hardstate", 10);
  CHECK_THROWS_WITH(LogStore(opts_for(dir.path())),
                    Catch::Contains("hardstate") && Catch::Contains("corrupt"));
}

TEST_CASE("log store: compaction deletes whole segments below the snapshot") {
  pw::test::TempDir dir("pw-logstore");
  {
    LogStore s(opts_for(dir.path(), 250));
    s.append(make_entries(1, 40, 1));
    size_t before = s.segment_count();
    REQUIRE(before >= 5);
    s.save_snapshot(Snapshot{25, 1, "state@25", {}});
    CHECK(s.segment_count() < before);
    CHECK(s.first_index() <= 26);
    CHECK(s.first_index() > 1);
    CHECK(s.last_index() == 40);
    s.append(make_entries(41, 42, 2));
  }
  LogStore s(opts_for(dir.path(), 250));
  CHECK(s.snapshot() == Snapshot{25, 1, "state@25", {}});
  auto& e = s.initial_state().entries;
  REQUIRE(!e.empty());
  CHECK(e.front().index == 26);
  CHECK(e.back().index == 42);
  CHECK(s.initial_state().snapshot.index == 25);
}

TEST_CASE("log store: a snapshot from the leader replaces the log") {
  pw::test::TempDir dir("pw-logstore");
  {
    LogStore s(opts_for(dir.path()));
    s.append(make_entries(1, 5, 1));
    s.apply_snapshot(Snapshot{100, 7, "leader state", {}});
    CHECK(s.last_index() == 100);
    CHECK(s.segment_count() == 0);
    CHECK_THROWS_AS(s.append(make_entries(50, 50, 7)), std::logic_error);
    s.append(make_entries(101, 103, 7));
  }
  LogStore s(opts_for(dir.path()));
  CHECK(s.snapshot().index == 100);
  REQUIRE(s.initial_state().entries.size() == 3);
  CHECK(s.initial_state().entries[0].index == 101);
}

TEST_CASE("log store: an interrupted snapshot install discards the disagreeing log") {
  pw::test::TempDir dir("pw-logstore");
  {
    LogStore s(opts_for(dir.path()));
    s.append(make_entries(1, 10, 1));
    // As if apply_snapshot(index 5, term 2) crashed after writing the
    // snapshot file: the old log (term 1 at index 5) is still there.
    s.save_snapshot(Snapshot{5, 2, "other history", {}});
  }
  LogStore s(opts_for(dir.path()));
  CHECK(s.snapshot().index == 5);
  CHECK(s.initial_state().entries.empty());
  CHECK(s.last_index() == 5);
}

TEST_CASE("identity: created once, then checked; a mismatch names the difference") {
  pw::test::TempDir dir("pw-identity");
  ClusterIdentity id{"prod", {"db1", "db2", "db3"}};
  check_identity(dir.path(), id);
  REQUIRE(read_identity(dir.path()) == id);
  check_identity(dir.path(), id);  // same: fine

  ClusterIdentity other_name{"staging", {"db1", "db2", "db3"}};
  CHECK_THROWS_WITH(check_identity(dir.path(), other_name),
                    Catch::Contains("cluster name differs") && Catch::Contains("'prod'") &&
                        Catch::Contains("'staging'"));
  ClusterIdentity other_member{"prod", {"db1", "db4", "db3"}};
  CHECK_THROWS_WITH(check_identity(dir.path(), other_member), Catch::Contains("member 2 differs") &&
                                                                  Catch::Contains("'db2'") &&
                                                                  Catch::Contains("'db4'"));
  ClusterIdentity more{"prod", {"db1", "db2", "db3", "db4"}};
  CHECK_THROWS_WITH(check_identity(dir.path(), more), Catch::Contains("member count differs"));
}

TEST_CASE("identity: a raft log without identity is refused; LogStore checks it") {
  pw::test::TempDir dir("pw-identity");
  {
    LogStore s(opts_for(dir.path()));
    s.append(make_entries(1, 1, 1));
  }
  ClusterIdentity id{"prod", {"a", "b", "c"}};
  CHECK_THROWS_WITH(check_identity(dir.path(), id), Catch::Contains("no identity file"));

  pw::test::TempDir d2("pw-identity");
  LogStoreOptions o = opts_for(d2.path());
  o.identity = id;
  { LogStore s(o); }
  o.identity.members = {"a", "b", "z"};
  CHECK_THROWS_WITH(LogStore(o), Catch::Contains("member 3 differs"));
}

TEST_CASE("log store: snapshots with empty and short data round-trip") {
  for (std::string data : {std::string(), std::string("7"), std::string("1234")}) {
    pw::test::TempDir dir("pw-logstore");
    {
      LogStore s(opts_for(dir.path()));
      s.append(make_entries(1, 5, 1));
      s.save_snapshot(Snapshot{3, 1, data, {}});
    }
    LogStore s(opts_for(dir.path()));
    CHECK(s.snapshot() == Snapshot{3, 1, data, {}});
    CHECK(s.initial_state().entries.size() == 2);
  }
}
