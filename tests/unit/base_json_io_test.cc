// tests/unit/base_json_io_test.cc — the edges around nlohmann-json that
// pgwarden adds (base/json_io.h): parsing refuses documents nested too deep
// or too large with an error value (never an exception, never a stack
// overflow), invalid text gets an error saying where, random bytes never
// throw; the readers fall back instead of throwing on absent members or
// other types and keep uint64 values exact; writing never throws on bytes
// that are not UTF-8.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

#include "base/json_io.h"

using pw::Json;
using pw::JsonLimits;
using pw::JsonOut;
using pw::parse_json;

TEST_CASE("parse_json: the depth limit counts containers, 32 by default") {
  std::string err;
  std::string ok = std::string(32, '[') + std::string(32, ']');
  CHECK(parse_json(ok, &err));
  std::string one_more = std::string(33, '[') + std::string(33, ']');
  CHECK_FALSE(parse_json(one_more, &err));
  CHECK(err == "nested deeper than 32 levels");
  std::string objects;
  for (int i = 0; i < 33; ++i) objects += "{\"a\":";
  objects += "1" + std::string(33, '}');
  CHECK_FALSE(parse_json(objects, &err));
  CHECK(err == "nested deeper than 32 levels");
  JsonLimits lim;
  lim.max_depth = 2;
  CHECK(parse_json("{\"a\":[1]}", &err, lim));
  CHECK_FALSE(parse_json("{\"a\":[[1]]}", &err, lim));
}

TEST_CASE("parse_json: 100000 levels deep is an error value, not a crash") {
  std::string err;
  std::string open(100000, '[');
  CHECK_FALSE(parse_json(open, &err));
  CHECK(err == "nested deeper than 32 levels");
  CHECK_FALSE(parse_json(open + std::string(100000, ']'), &err));
  CHECK(err == "nested deeper than 32 levels");
}

TEST_CASE("parse_json: the size limit is checked before parsing") {
  std::string err;
  JsonLimits lim;
  lim.max_size = 10;
  CHECK(parse_json("[1,2,3,4]", &err, lim));
  CHECK_FALSE(parse_json("[1,2,3,4,5,6]", &err, lim));
  CHECK(err == "document larger than 10 bytes");
}

TEST_CASE("parse_json: invalid text is an error saying where") {
  const char* bad[] = {"",        "   ",       "{",        "}",          "[1,]",       "{\"a\":1,}", "{\"a\" 1}",
                       "{a:1}",   "'x'",       "\"abc",    "\"\\x\"",    "\"\\u12\"",  "\"\\ud800\"", "\"a\x01\"",
                       "01",      "1.",        "-",        "1e",         ".5",         "tru",         "[1] [2]",
                       "{} x",    "NaN",       "Infinity", "[\"a\" \"b\"]", "{\"a\":}", "\"\xff\""};
  for (const char* text : bad) {
    std::string err;
    INFO("input: " << text);
    CHECK_FALSE(parse_json(text, &err));
    CHECK(err.find("at line 1, column") != std::string::npos);
    CHECK(err.find("[json.exception") == std::string::npos);  // the library's id is not for operators
  }
  std::string err;
  CHECK_FALSE(parse_json("{\"a\": tru}", &err));
  CHECK(err.find("parse error at line 1, column 10") == 0);
  CHECK(err.find("invalid literal") != std::string::npos);
}

TEST_CASE("parse_json: random and truncated input never throws") {
  std::mt19937 rng(12345);
  const std::string seed = R"({"to":"n2","force":true,"x":[1,2.5e-3,"\u00e9",null,{"a":false}]})";
  for (int round = 0; round < 20000; ++round) {
    std::string s = seed;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0: s.insert(pos, 1, static_cast<char>(rng() % 256)); break;
        case 1: if (pos < s.size()) s.erase(pos, 1); break;
        default: if (pos < s.size()) s[pos] = static_cast<char>(rng() % 256);
      }
    }
    std::string err;
    std::optional<Json> v;
    REQUIRE_NOTHROW(v = parse_json(s, &err));
    if (!v) CHECK(!err.empty());
  }
  for (size_t n = 0; n < seed.size(); ++n) {
    std::string err;
    CHECK_FALSE(parse_json(seed.substr(0, n), &err));
  }
}

TEST_CASE("readers: uint64 values stay exact; wrong types and absent members give the fallback") {
  std::string err;
  auto v = parse_json(R"({"lsn": 18446744073709551615, "neg": -9223372036854775808, "f": 3.5, "e": 1e3,
                          "s": "x\u00e9\ud83d\ude00", "b": false, "o": {"k": "v"}, "dup": 1, "dup": 2})",
                      &err);
  REQUIRE(v);
  CHECK(pw::json_uint(*v, "lsn") == UINT64_MAX);
  CHECK(pw::json_int(*v, "lsn", 7) == 7);  // past INT64_MAX: not an int64
  CHECK(pw::json_int(*v, "neg") == INT64_MIN);
  CHECK(pw::json_uint(*v, "neg", 7) == 7);  // negative: not a uint
  CHECK(pw::json_uint(*v, "f", 7) == 7);    // floats are not integers
  CHECK(pw::json_uint(*v, "e", 7) == 7);
  CHECK(pw::json_str(*v, "s") == "x\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(pw::json_str(*v, "lsn", "dflt") == "dflt");
  CHECK(pw::json_bool(*v, "s", true) == true);
  CHECK(pw::json_bool(*v, "b", true) == false);
  CHECK(pw::json_str(*v, "missing", "dflt") == "dflt");
  CHECK(pw::json_int(*v, "dup") == 2);  // the last of repeated keys wins
  REQUIRE(pw::json_member(*v, "o"));
  CHECK(pw::json_str(*pw::json_member(*v, "o"), "k") == "v");
  // Readers on something that is not an object: the fallback, no exception.
  Json arr = Json::array({1, 2});
  CHECK(pw::json_member(arr, "k") == nullptr);
  CHECK(pw::json_uint(arr, "k", 9) == 9);
  CHECK(pw::json_str(Json("text"), "k", "d") == "d");
}

TEST_CASE("json_text: compact, keys in the order set, uint64 exact, invalid UTF-8 replaced") {
  JsonOut doc;
  doc["zeta"] = 1;
  doc["alpha"] = UINT64_MAX;
  doc["s"] = std::string("a\"b\\c\n\t\x01");
  doc["ok"] = std::string("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  doc["bad"] = std::string("bad \xff \xc0\xaf \xed\xa0\x80");
  std::string text;
  REQUIRE_NOTHROW(text = pw::json_text(doc));
  CHECK(text.rfind("{\"zeta\":1,\"alpha\":18446744073709551615,\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\",", 0) == 0);
  std::string err;
  auto back = parse_json(text, &err);  // parse_json refuses invalid UTF-8: this proves the output is valid
  REQUIRE(back);
  CHECK(back->at("alpha").get<uint64_t>() == UINT64_MAX);
  CHECK(back->at("ok") == "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  std::string bad = back->at("bad").get<std::string>();
  CHECK(bad.find('\xff') == std::string::npos);
  CHECK(bad.find("\xef\xbf\xbd") != std::string::npos);
}
