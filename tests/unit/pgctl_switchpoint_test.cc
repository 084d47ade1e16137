// tests/unit/pgctl_switchpoint_test.cc — reading where a timeline history
// left an ancestor timeline (pgctl/timeline_files.h): what a standby
// compares its replay position with before following a new primary.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "pgctl/timeline_files.h"
#include "support/tmpdir.h"

using namespace pw::pgctl;

TEST_CASE("the switchpoint of an ancestor in a history file's text") {
  // What PostgreSQL 15 writes for timeline 3 (tab-separated, one line per ancestor).
  const std::string text =
      "1\t0/403B410\tno recovery target specified\n"
      "\n"
      "2\t0/4087F00\tno recovery target specified\n";
  uint64_t lsn = 0;
  REQUIRE(history_switchpoint(text, 1, &lsn));
  CHECK(lsn == 0x403B410);
  REQUIRE(history_switchpoint(text, 2, &lsn));
  CHECK(lsn == 0x4087F00);
  CHECK_FALSE(history_switchpoint(text, 3, &lsn));  // the file's own timeline has no line
  CHECK(history_switchpoint("1\t1/A0\treason", 1, &lsn));  // no final newline
  CHECK(lsn == 0x1000000A0ULL);
}

TEST_CASE("comments, placeholders and malformed lines name no switchpoint") {
  uint64_t lsn = 7;
  CHECK_FALSE(history_switchpoint(std::string(kPlaceholderMarker) + ": timeline 4 ...\n# more\n", 1, &lsn));
  CHECK_FALSE(history_switchpoint("# 1\t0/10\tcommented out\n", 1, &lsn));
  CHECK_FALSE(history_switchpoint("1 no lsn here\n", 1, &lsn));
  CHECK_FALSE(history_switchpoint("x1\t0/10\tbad id\n", 1, &lsn));
  CHECK(lsn == 7);
  // A bad line does not hide a good one after it.
  CHECK(history_switchpoint("junk\n1\t0/20\tok\n", 1, &lsn));
  CHECK(lsn == 0x20);
}

TEST_CASE("read_switchpoint reads pg_wal/<tli>.history") {
  pw::test::TempDir dir;
  REQUIRE(::mkdir((dir / "pg_wal").c_str(), 0700) == 0);
  uint64_t lsn = 0;
  std::string err;
  CHECK(read_switchpoint(dir.path(), 2, 1, &lsn, &err) == Switchpoint::no_file);
  {
    std::ofstream f(dir / ("pg_wal/" + history_file_name(2)));
    f << "1\t0/3000158\tno recovery target specified\n";
  }
  CHECK(read_switchpoint(dir.path(), 2, 1, &lsn, &err) == Switchpoint::found);
  CHECK(lsn == 0x3000158);
  CHECK(read_switchpoint(dir.path(), 2, 5, &lsn, &err) == Switchpoint::not_listed);
  CHECK(err.empty());
}
