// tests/unit/base_json_test.cc — the API's JSON writer and parser:
// the writer's output always parses back to what was written, the parser
// accepts JSON and rejects everything else with a position, and hostile
// input (deep nesting, bad escapes, truncation, random bytes) never crashes.
#include <catch2/catch.hpp>

#include <limits>
#include <random>

#include "base/json.h"

using pw::node::JsonValue;
using pw::node::JsonWriter;
using pw::node::parse_json;

TEST_CASE("writer: separators, nesting and scalar forms") {
  JsonWriter w;
  w.begin_object();
  w.field("s", "a\"b\\c\n\t\x01").field("n", int64_t{-5}).field("u", uint64_t{18446744073709551615ull});
  w.field("b", true).null_field("z").field("d", 1.5);
  w.key("arr").begin_array().value(1).value("x").begin_object().end_object().begin_array().end_array().end_array();
  w.key("empty").begin_object().end_object();
  w.end_object();
  CHECK(w.str() ==
        "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\",\"n\":-5,\"u\":18446744073709551615,\"b\":true,\"z\":null,"
        "\"d\":1.5,\"arr\":[1,\"x\",{},[]],\"empty\":{}}");
}

TEST_CASE("writer: invalid UTF-8 is replaced so the output stays valid, valid UTF-8 is kept") {
  JsonWriter w;
  w.begin_array().value(std::string("ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")).value(std::string("bad \xff \xc0\xaf \xed\xa0\x80"));
  w.end_array();
  std::string err;
  auto v = parse_json(w.str(), &err);
  REQUIRE(v);
  CHECK(v->items[0].s == "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(v->items[1].s.find('\xff') == std::string::npos);
  CHECK(v->items[1].s.find("\xef\xbf\xbd") != std::string::npos);
}

TEST_CASE("writer: non-finite doubles become null") {
  JsonWriter w;
  w.begin_array().value(std::numeric_limits<double>::infinity()).value(std::numeric_limits<double>::quiet_NaN());
  w.end_array();
  CHECK(w.str() == "[null,null]");
}

TEST_CASE("parser: values, integers beyond 2^53, escapes and surrogate pairs") {
  std::string err;
  auto v = parse_json(R"( {"a": [1, -2, 3.5, 1e3, true, false, null], "big": 18446744073709551615,
       "neg": -9223372036854775808, "s": "x\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\", "o": {"k": "v"}, "a": 2} )",
                      &err);
  REQUIRE(v);
  CHECK(err.empty());
  REQUIRE(v->is_object());
  const JsonValue* a = v->get("a");  // the last of repeated keys wins
  REQUIRE(a);
  CHECK(a->integer == 2);
  CHECK(v->members[0].second.items.size() == 7);
  CHECK(v->members[0].second.items[2].num == 3.5);
  CHECK(!v->members[0].second.items[2].integer);
  CHECK(v->members[0].second.items[3].num == 1000);
  CHECK(v->uint_or("big") == 18446744073709551615ull);
  CHECK(!v->get("big")->integer);
  CHECK(v->int_or("neg") == INT64_MIN);
  CHECK(v->str_or("s") == "x\xc3\xa9\xf0\x9f\x98\x80/\b\f\n\r\t\"\\");
  CHECK(v->get("o")->str_or("k") == "v");
  CHECK(v->str_or("missing", "dflt") == "dflt");
  CHECK(v->bool_or("s", true) == true);  // wrong type: the fallback
}

TEST_CASE("parser: rejects what is not JSON, saying where") {
  const char* bad[] = {"",         "   ",       "{",          "}",          "[1,]",        "{\"a\":1,}",
                       "{\"a\" 1}", "{a:1}",     "'x'",        "\"abc",      "\"\\x\"",     "\"\\u12\"",
                       "\"\\ud800\"", "\"\\udc00\"", "\"a\x01\"", "01",         "1.",          "-",
                       "1e",       ".5",        "tru",        "nul",        "[1] [2]",     "{} x",
                       "NaN",      "Infinity",  "[\"a\" \"b\"]", "{\"a\":}",  "\xef\xbb\xbf{}"};
  for (const char* text : bad) {
    std::string err;
    INFO("input: " << text);
    CHECK_FALSE(parse_json(text, &err));
    CHECK(err.find("at offset") != std::string::npos);
  }
  std::string err;
  parse_json("{\"a\": tru}", &err);
  CHECK(err == "invalid literal at offset 6");
}

TEST_CASE("parser: nesting and size limits") {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  std::string err;
  CHECK_FALSE(parse_json(deep, &err));
  CHECK(err.find("nested deeper than 32") != std::string::npos);
  std::string ok(32, '[');
  ok += std::string(32, ']');
  CHECK(parse_json(ok, &err));
  pw::node::JsonLimits lim;
  lim.max_size = 10;
  CHECK_FALSE(parse_json("[1,2,3,4,5,6]", &err, lim));
  CHECK(err.find("larger than 10 bytes") != std::string::npos);
}

TEST_CASE("parser: random and truncated input never crashes") {
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
    auto v = parse_json(s, &err);
    if (!v) CHECK(!err.empty());
  }
  for (size_t n = 0; n < seed.size(); ++n) {
    std::string err;
    CHECK_FALSE(parse_json(seed.substr(0, n), &err));
  }
}

TEST_CASE("round trip: what the writer writes, the parser reads back") {
  JsonWriter w;
  w.begin_object().field("name", std::string("n\xc3\xa9\"1\x7f")).field("lag", uint64_t{1} << 60);
  w.key("tags").begin_object().field("nofailover", false).field("priority", -3).end_object().end_object();
  std::string err;
  auto v = parse_json(w.str(), &err);
  REQUIRE(v);
  CHECK(v->str_or("name") == "n\xc3\xa9\"1\x7f");
  CHECK(v->uint_or("lag") == (uint64_t{1} << 60));
  CHECK(v->get("tags")->int_or("priority") == -3);
  CHECK(v->get("tags")->bool_or("nofailover", true) == false);
}
