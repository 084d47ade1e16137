// tests/unit/pgctl_pg_control_test.cc — pg_control decoding on synthetic
// files laid out like PostgreSQL 12–17's, CRC-32C, LSN text.
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "pgctl/pg_control.h"

using namespace pw::pgctl;

namespace {

template <typename T>
void put(std::vector<uint8_t>& b, size_t off, T v) {
  std::memcpy(b.data() + off, &v, sizeof v);
}

// A pg_control image: fields at the 12–17 offsets, CRC at `crc_off`.
std::vector<uint8_t> image(uint32_t version, size_t crc_off, int32_t state = 1) {
  std::vector<uint8_t> b(8192, 0);
  put<uint64_t>(b, 0, 7712200260385482377ull);
  put<uint32_t>(b, 8, version);
  put<uint32_t>(b, 12, 202209061);
  put<int32_t>(b, 16, state);
  put<int64_t>(b, 24, 1764100000);
  put<uint64_t>(b, 32, 0x17414F8);   // checkpoint
  put<uint64_t>(b, 40, 0x1741400);   // redo
  put<uint32_t>(b, 48, 3);           // timeline
  put<uint64_t>(b, 136, 0x2000100);  // minRecoveryPoint
  put<uint32_t>(b, 144, 3);
  put<uint32_t>(b, crc_off, crc32c(b.data(), crc_off));
  return b;
}

}  // namespace

TEST_CASE("crc32c matches the Castagnoli check value") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
}

TEST_CASE("pg_control of each supported format decodes") {
  for (auto [version, crc_off] : std::vector<std::pair<uint32_t, size_t>>{
           {1201, 288}, {1300, 288}, {1300, 296}, {1700, 304}}) {
    auto b = image(version, crc_off);
    ControlData c;
    std::string err;
    INFO("version " << version << " crc at " << crc_off);
    REQUIRE(parse_pg_control(b.data(), b.size(), &c, &err));
    CHECK(c.system_id == 7712200260385482377ull);
    CHECK(c.control_version == version);
    CHECK(c.catalog_version == 202209061u);
    CHECK(c.state == DbState::shut_down);
    CHECK(c.checkpoint_lsn == 0x17414F8u);
    CHECK(c.redo_lsn == 0x1741400u);
    CHECK(c.timeline == 3);
    CHECK(c.min_recovery_lsn == 0x2000100u);
    CHECK(c.crc_offset == crc_off);
  }
  CHECK(control_version_major_floor(1201) == 12);
  CHECK(control_version_major_floor(1300) == 13);
  CHECK(control_version_major_floor(1700) == 17);
  CHECK(control_version_major_floor(1100) == 0);
}

TEST_CASE("corrupt or foreign pg_control is rejected with a reason") {
  ControlData c;
  std::string err;
  auto b = image(1300, 288);
  b[33] ^= 1;  // one bit of the checkpoint LSN
  CHECK_FALSE(parse_pg_control(b.data(), b.size(), &c, &err));
  CHECK_THAT(err, Catch::Contains("CRC"));

  b = image(1100, 288);  // PostgreSQL 11
  CHECK_FALSE(parse_pg_control(b.data(), b.size(), &c, &err));
  CHECK_THAT(err, Catch::Contains("1100"));

  b = image(1300, 288, 42);  // unknown state, valid CRC
  CHECK_FALSE(parse_pg_control(b.data(), b.size(), &c, &err));
  CHECK_THAT(err, Catch::Contains("state"));

  b = image(1300, 288);
  CHECK_FALSE(parse_pg_control(b.data(), 100, &c, &err));
  CHECK_THAT(err, Catch::Contains("too short"));
  CHECK_FALSE(parse_pg_control(b.data(), 0, &c, &err));

  // Arbitrary bytes never crash the decoder.
  std::vector<uint8_t> junk(600);
  for (int round = 0; round < 200; ++round) {
    for (size_t i = 0; i < junk.size(); ++i)
      junk[i] = static_cast<uint8_t>((i * 131 + round * 17) ^ round);
    put<uint32_t>(junk, 8, round % 2 ? 1300 : 1700);
    CHECK_FALSE(parse_pg_control(junk.data(), junk.size() - round, &c, &err));
  }
}

TEST_CASE("state names and LSN text") {
  CHECK(std::string(db_state_name(DbState::in_production)) == "in production");
  CHECK(std::string(db_state_name(DbState::shut_down_in_recovery)) == "shut down in recovery");
  CHECK(format_lsn(0x16B374D848ull) == "16/B374D848");
  CHECK(format_lsn(0) == "0/0");
  uint64_t v = 1;
  REQUIRE(parse_lsn("16/B374D848", &v));
  CHECK(v == 0x16B374D848ull);
  REQUIRE(parse_lsn("0/3000028", &v));
  CHECK(v == 0x3000028u);
  REQUIRE(parse_lsn("ffffffff/ffffffff", &v));
  CHECK(v == ~0ull);
  for (const char* bad : {"", "/", "1/", "/1", "g/1", "1/2/3", "123456789/0", "1 /2"})
    CHECK_FALSE(parse_lsn(bad, &v));
}
