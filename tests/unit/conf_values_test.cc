// tests/unit/conf_values_test.cc — every accepted form of each value type,
// the rejected ones (with a message naming the accepted forms), and that the
// formatters print what the parsers read back.
#include <catch2/catch.hpp>

#include "conf/values.h"

using namespace pw::conf;

TEST_CASE("durations: every unit and sums", "[conf][values]") {
  CHECK(*parse_duration_ms("500ms").value == 500);
  CHECK(*parse_duration_ms("4s").value == 4000);
  CHECK(*parse_duration_ms("1m").value == 60000);
  CHECK(*parse_duration_ms("2min").value == 120000);
  CHECK(*parse_duration_ms("1h").value == 3600000);
  CHECK(*parse_duration_ms("1d").value == 86400000);
  CHECK(*parse_duration_ms("1m30s").value == 90000);
  CHECK(*parse_duration_ms("1h2m3s4ms").value == 3723004);
  CHECK(*parse_duration_ms("0s").value == 0);
  CHECK(*parse_duration_ms("3S").value == 3000);  // units are case-insensitive
}

TEST_CASE("durations: rejected forms say what is accepted", "[conf][values]") {
  for (const char* bad :
       {"", "3", "1.5s", "s", "-1s", "3 s", "10x", "1s2", "ms500", "99999999999999999999s"}) {
    INFO("input: '" << bad << "'");
    auto p = parse_duration_ms(bad);
    REQUIRE_FALSE(p.value);
    bool explains = p.error.find("500ms") != std::string::npos ||
                    p.error.find("too large") != std::string::npos;
    CHECK(explains);
  }
  CHECK(parse_duration_ms("3").error.find("no unit") != std::string::npos);
}

TEST_CASE("sizes: bytes and 1024-based units", "[conf][values]") {
  CHECK(*parse_size_bytes("0").value == 0);
  CHECK(*parse_size_bytes("8192").value == 8192);
  CHECK(*parse_size_bytes("100B").value == 100);
  CHECK(*parse_size_bytes("512kB").value == 512u * 1024);
  CHECK(*parse_size_bytes("512KB").value == 512u * 1024);
  CHECK(*parse_size_bytes("1MB").value == 1u << 20);
  CHECK(*parse_size_bytes("1 MB").value == 1u << 20);
  CHECK(*parse_size_bytes("16mb").value == 16u << 20);
  CHECK(*parse_size_bytes("1GB").value == 1ull << 30);
  CHECK(*parse_size_bytes("2TB").value == 2ull << 40);
  for (const char* bad : {"", "MB", "1XB", "1.5MB", "-1MB", "1MB2", "99999999999TB"}) {
    INFO("input: '" << bad << "'");
    auto p = parse_size_bytes(bad);
    REQUIRE_FALSE(p.value);
    CHECK((p.error.find("1MB") != std::string::npos ||
           p.error.find("too large") != std::string::npos));
  }
}

TEST_CASE("percentages", "[conf][values]") {
  CHECK(*parse_percent("5%").value == Approx(0.05));
  CHECK(*parse_percent("2.5%").value == Approx(0.025));
  CHECK(*parse_percent("0%").value == 0.0);
  CHECK(*parse_percent("100%").value == Approx(1.0));
  CHECK(*parse_percent("5 %").value == Approx(0.05));
  for (const char* bad : {"5", "0.05", "%", "101%", "-5%", "5%%", ".5%", "5.%", "1.2.3%", "abc%"}) {
    INFO("input: '" << bad << "'");
    auto p = parse_percent(bad);
    REQUIRE_FALSE(p.value);
    CHECK(p.error.find("5%") != std::string::npos);
  }
}

TEST_CASE("booleans", "[conf][values]") {
  for (const char* t : {"on", "true", "yes", "1", "ON", "True", "YES"}) CHECK(*parse_bool(t).value);
  for (const char* f : {"off", "false", "no", "0", "OFF", "False", "No"})
    CHECK_FALSE(*parse_bool(f).value);
  for (const char* bad : {"", "y", "n", "2", "enabled", "onn"}) {
    INFO("input: '" << bad << "'");
    auto p = parse_bool(bad);
    REQUIRE_FALSE(p.value);
    CHECK(p.error.find("on/off, true/false, yes/no or 1/0") != std::string::npos);
  }
}

TEST_CASE("ports and integers", "[conf][values]") {
  CHECK(*parse_port("1").value == 1);
  CHECK(*parse_port("65535").value == 65535);
  CHECK_FALSE(parse_port("0").value);
  CHECK(*parse_port("0", /*allow_zero=*/true).value == 0);
  for (const char* bad : {"", "65536", "-1", "80a", "http", "5432.0"})
    CHECK_FALSE(parse_port(bad).value);
  CHECK(*parse_int("-7", -10, 10).value == -7);
  CHECK(*parse_int("+7", -10, 10).value == 7);
  CHECK_FALSE(parse_int("11", -10, 10).value);
  CHECK(parse_int("11", -10, 10).error.find("from -10 to 10") != std::string::npos);
  CHECK_FALSE(parse_int("99999999999999999999", 0, 10).value);
}

TEST_CASE("hosts and host:port", "[conf][values]") {
  for (const char* ok :
       {"10.0.0.120", "db-postgres-01", "db.example.com", "::1", "fe80::1", "0.0.0.0", "a_b"})
    CHECK(valid_host(ok));
  for (const char* bad :
       {"", "10.0.0.300", "-db", "db-", "a..b", "has space", "1.2.3", "[::1]", "db/x"})
    CHECK_FALSE(valid_host(bad));

  auto hp = parse_host_port("10.0.0.120:5010");
  REQUIRE(hp.value);
  CHECK(hp.value->host == "10.0.0.120");
  CHECK(hp.value->port == 5010);
  hp = parse_host_port("[fe80::1]:5432");
  REQUIRE(hp.value);
  CHECK(hp.value->host == "fe80::1");
  CHECK(hp.value->port == 5432);
  hp = parse_host_port("db1", /*port_optional=*/true);
  REQUIRE(hp.value);
  CHECK(hp.value->port == 0);
  hp = parse_host_port("::1", /*port_optional=*/true);
  REQUIRE(hp.value);
  CHECK(hp.value->host == "::1");

  CHECK(parse_host_port("db1").error.find("no port") != std::string::npos);
  CHECK(parse_host_port("fe80::1:5432").error.find("brackets") != std::string::npos);
  CHECK_FALSE(parse_host_port("db1:0").value);
  CHECK_FALSE(parse_host_port("db1:99999").value);
  CHECK_FALSE(parse_host_port("[fe80::1").value);
  CHECK_FALSE(parse_host_port("[fe80::1]x").value);
  CHECK_FALSE(parse_host_port("[db1]:5432").value);
  CHECK(format_host_port("fe80::1", 5432) == "[fe80::1]:5432");
  CHECK(format_host_port("db1", 0) == "db1");
}

TEST_CASE("member lists", "[conf][values]") {
  auto m = parse_members("a=10.0.0.120, b=10.0.0.121:6000,c=[::1]:7000 ,d=host.example");
  REQUIRE(m.value);
  REQUIRE(m.value->size() == 4);
  CHECK((*m.value)[0].name == "a");
  CHECK((*m.value)[0].host == "10.0.0.120");
  CHECK((*m.value)[0].raft_port == 0);  // filled from [raft] port by the loader
  CHECK((*m.value)[1].raft_port == 6000);
  CHECK((*m.value)[2].host == "::1");
  CHECK((*m.value)[2].raft_port == 7000);
  CHECK((*m.value)[3].host == "host.example");

  auto one = parse_members("solo=127.0.0.1");
  REQUIRE(one.value);
  CHECK(one.value->size() == 1);

  // Every bad entry is named in one message, with the accepted form.
  auto bad = parse_members("a=10.0.0.1, b, =10.0.0.3, c=10.0.0.300, d=h:0,");
  REQUIRE_FALSE(bad.value);
  CHECK(bad.error.find("'b' lacks '='") != std::string::npos);
  CHECK(bad.error.find("'' is not a valid member name") != std::string::npos);
  CHECK(bad.error.find("member c:") != std::string::npos);
  CHECK(bad.error.find("member d:") != std::string::npos);
  CHECK(bad.error.find("entry 6 is empty") != std::string::npos);
  CHECK(bad.error.find("name=host[:raft_port]") != std::string::npos);
  CHECK_FALSE(parse_members("").value);
  CHECK_FALSE(parse_members("bad name=1.2.3.4").value);

  std::vector<Member> ms = {{"a", "10.0.0.1", 5010}, {"b", "::1", 6000}};
  CHECK(format_members(ms) == "a=10.0.0.1:5010, b=[::1]:6000");
}

TEST_CASE("formatters print what the parsers read back", "[conf][values]") {
  for (int64_t ms :
       {0LL, 1LL, 250LL, 1000LL, 1500LL, 60000LL, 90000LL, 3600000LL, 86400000LL, 123456789LL}) {
    INFO("ms=" << ms << " text=" << format_duration(ms));
    CHECK(*parse_duration_ms(format_duration(ms)).value == ms);
  }
  CHECK(format_duration(3000) == "3s");
  CHECK(format_duration(120000) == "2m");
  CHECK(format_duration(1500) == "1500ms");
  for (uint64_t b : {0ULL, 1ULL, 1000ULL, 1024ULL, 1ULL << 20, 3ULL << 30, 5ULL << 40, 1536ULL}) {
    INFO("bytes=" << b << " text=" << format_size(b));
    CHECK(*parse_size_bytes(format_size(b)).value == b);
  }
  CHECK(format_size(1u << 20) == "1MB");
  CHECK(format_size(512u * 1024) == "512kB");
  for (double r : {0.0, 0.05, 0.025, 0.333, 1.0})
    CHECK(*parse_percent(format_percent(r)).value == Approx(r));
  CHECK(format_percent(0.05) == "5%");
  CHECK(*parse_bool(format_bool(true)).value);
  CHECK_FALSE(*parse_bool(format_bool(false)).value);
}

TEST_CASE("edit distance counts typos, including swapped neighbours", "[conf][values]") {
  CHECK(edit_distance("port", "port") == 0);
  CHECK(edit_distance("prot", "port") == 1);
  CHECK(edit_distance("log_levl", "log_level") == 1);
  CHECK(edit_distance("clustr", "cluster") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}
