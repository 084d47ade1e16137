// tests/unit/consensus_handshake_test.cc — the transport's handshake codec:
// round trips, refusal of every truncation and of foreign bytes, and
// totality on random input (it faces the network before any peer is known).
#include <catch2/catch.hpp>
#include <random>

#include "consensus/handshake.h"

using namespace pw::consensus;

TEST_CASE("handshake: hello, accept and reject round-trip", "[handshake]") {
  HandshakeMsg hello;
  hello.kind = HandshakeKind::hello;
  hello.node_id = 3;
  hello.cluster = "keybuzz-pg17";
  hello.node_name = "db-postgres-03";
  std::string err;
  auto back = decode_handshake(encode_handshake(hello), &err);
  REQUIRE(back);
  CHECK(back->kind == HandshakeKind::hello);
  CHECK(back->version == kProtocolVersion);
  CHECK(back->node_id == 3);
  CHECK(back->cluster == "keybuzz-pg17");
  CHECK(back->node_name == "db-postgres-03");

  HandshakeMsg rej;
  rej.kind = HandshakeKind::reject;
  rej.reason = "cluster name mismatch";
  back = decode_handshake(encode_handshake(rej), &err);
  REQUIRE(back);
  CHECK(back->kind == HandshakeKind::reject);
  CHECK(back->reason == "cluster name mismatch");
}

TEST_CASE("handshake: frames start with the codec's version and handshake type", "[handshake]") {
  HandshakeMsg m;
  std::string enc = encode_handshake(m);
  REQUIRE(enc.size() > 2);
  CHECK(static_cast<uint8_t>(enc[0]) == kProtocolVersion);
  CHECK(static_cast<uint8_t>(enc[1]) == kHandshakeFrameType);
}

TEST_CASE("handshake: every truncation and trailing garbage is refused", "[handshake]") {
  HandshakeMsg m;
  m.node_id = 1;
  m.cluster = "c";
  m.node_name = "n1";
  std::string enc = encode_handshake(m);
  for (size_t n = 0; n < enc.size(); ++n) {
    std::string err;
    CHECK_FALSE(decode_handshake(enc.substr(0, n), &err));
    CHECK_FALSE(err.empty());
  }
  std::string err;
  CHECK_FALSE(decode_handshake(enc + "x", &err));
  CHECK(err == "truncated cluster id");
  CHECK_FALSE(decode_handshake(enc + std::string(8, '\0') + "x", &err));
  CHECK(err == kTrailingBytesError);
}

TEST_CASE("handshake: the cluster id is an optional trailer, bounds-checked", "[handshake]") {
  HandshakeMsg m;
  m.kind = GENERATE(HandshakeKind::hello, HandshakeKind::accept);
  m.node_id = 2;
  m.cluster = "c";
  m.node_name = "n2";
  std::string legacy = encode_handshake(m);  // a peer from before cluster ids
  std::string err;
  auto back = decode_handshake(legacy, &err);
  REQUIRE(back);
  CHECK_FALSE(back->cluster_id);

  m.cluster_id = 0x0123456789abcdefull;
  std::string enc = encode_handshake(m);
  REQUIRE(enc.size() == legacy.size() + 8);
  back = decode_handshake(enc, &err);
  REQUIRE(back);
  REQUIRE(back->cluster_id);
  CHECK(*back->cluster_id == 0x0123456789abcdefull);
  CHECK(back->node_name == "n2");
  // A cluster id not known yet (0) is carried as such, not as "absent".
  m.cluster_id = 0;
  back = decode_handshake(encode_handshake(m), &err);
  REQUIRE(back);
  CHECK(back->cluster_id == std::optional<uint64_t>(0));
  // Every cut inside the id is refused; only the cut before it is a legacy message.
  for (size_t n = legacy.size() + 1; n < enc.size(); ++n) {
    CHECK_FALSE(decode_handshake(enc.substr(0, n), &err));
    CHECK(err == "truncated cluster id");
  }
}

TEST_CASE("handshake: a different cluster id is refused naming both ids, the cause and the fix",
          "[handshake]") {
  std::string why = cluster_id_mismatch("db1", 0x1111, "db3", 0xabcdef);
  CHECK(why.find("0x0000000000001111") != std::string::npos);
  CHECK(why.find("0x0000000000abcdef") != std::string::npos);
  CHECK(why.find("state directories was left from an earlier cluster with the same name") !=
        std::string::npos);
  CHECK(why.find("stop pgwarden on that node, move its state_dir aside, start it again: it "
                 "will be caught up") != std::string::npos);
  CHECK(why.find("'db3'") != std::string::npos);
}

TEST_CASE("handshake: other versions decode far enough to be named", "[handshake]") {
  HandshakeMsg m;
  std::string enc = encode_handshake(m);
  enc[0] = 9;
  std::string err;
  auto back = decode_handshake(enc, &err);
  REQUIRE(back);
  CHECK(back->version == 9);
}

TEST_CASE("handshake: foreign bytes are refused with a reason", "[handshake]") {
  std::string err;
  CHECK_FALSE(decode_handshake("GET / HTTP/1.1\r\n", &err));
  CHECK(err.find("not a pgwarden raft peer") != std::string::npos);
  HandshakeMsg hello;
  hello.node_id = 1;
  hello.cluster = "c";
  hello.node_name = "n1";
  std::string wrong_type = encode_handshake(hello);
  wrong_type[1] = 2;  // a raft message before the handshake
  CHECK_FALSE(decode_handshake(wrong_type, &err));
  CHECK(err.find("not a handshake") != std::string::npos);
}

TEST_CASE("handshake: decoding random bytes never crashes", "[handshake]") {
  std::mt19937 rng(12345);
  HandshakeMsg m;
  m.node_id = 7;
  m.cluster = "cluster";
  m.node_name = "name";
  const std::string valid = encode_handshake(m);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    if (i % 2) {
      s.resize(rng() % 64);
      for (char& c : s) c = static_cast<char>(rng());
    } else {  // mutate a valid message: reaches the deeper branches
      s = valid;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k)
        s[rng() % s.size()] = static_cast<char>(rng());
    }
    std::string err;
    auto r = decode_handshake(s, &err);
    if (r)
      ++decoded;
    else
      CHECK_FALSE(err.empty());
  }
  CHECK(decoded > 0);
}

TEST_CASE("handshake: frame header is big-endian", "[handshake]") {
  uint8_t h[kLengthPrefixSize];
  put_frame_header(h, 0x01020304);
  CHECK(h[0] == 1);
  CHECK(h[3] == 4);
  CHECK(get_frame_header(h) == 0x01020304u);
}
