// tests/unit/consensus_codec_test.cc — wire codec: round trips of every
// message type, frame header parsing, and totality on hostile input
// (truncation at every length, bad versions/types/flags, huge counts,
// trailing bytes, frames over the limit).
#include <catch2/catch.hpp>
#include <random>

#include "consensus/codec.h"

using namespace pw::consensus;

namespace {

Message sample(MsgType t) {
  Message m;
  m.type = t;
  m.from = 2;
  m.to = 3;
  m.term = 7;
  m.log_term = 6;
  m.index = 41;
  m.commit = 40;
  m.reject = t == MsgType::app_resp;
  m.transfer = t == MsgType::vote;
  m.reject_hint = 39;
  m.proposal_id = 0xfeedfacecafebeefull;
  m.target = 1;
  if (t == MsgType::app || t == MsgType::prop) {
    m.entries.push_back(Entry{6, 42, EntryType::noop, ""});
    m.entries.push_back(Entry{7, 43, EntryType::normal, std::string("bin\0ary", 7)});
  }
  if (t == MsgType::snap) m.snapshot = Snapshot{40, 6, std::string(1000, 's'), {}};
  if (t == MsgType::prop_resp) m.reason = "leadership transfer in progress";
  return m;
}

}  // namespace

TEST_CASE("codec: every message type round-trips") {
  for (uint8_t t = 1; t <= kMaxMsgType; ++t) {
    Message m = sample(static_cast<MsgType>(t));
    INFO("type " << msg_type_name(m.type));
    std::string frame = encode_message_frame(m);
    FrameHead h = peek_frame(frame.data(), frame.size());
    REQUIRE(h.status == FrameHead::Status::ok);
    CHECK(h.type == FrameType::raft);
    CHECK(h.frame_size == frame.size());
    Message out;
    std::string err;
    REQUIRE(decode_message(frame_payload(frame), &out, &err));
    CHECK(out == m);
  }
}

TEST_CASE("codec: frame header parsing") {
  std::string f = encode_frame(FrameType::app, "hello");
  CHECK(f.size() == kFrameHeaderSize + 5);
  for (size_t n = 0; n < f.size(); ++n) {
    FrameHead h = peek_frame(f.data(), n);
    CHECK(h.status == FrameHead::Status::need_more);
    if (n >= kFrameHeaderSize) CHECK(h.frame_size == f.size());  // known once the header is in
  }
  FrameHead h = peek_frame(f.data(), f.size() + 10);  // more bytes behind: still one frame
  CHECK(h.status == FrameHead::Status::ok);
  CHECK(h.type == FrameType::app);
  CHECK(frame_payload(f.substr(0, h.frame_size)) == "hello");

  std::string bad_version = f;
  bad_version[4] = 9;
  h = peek_frame(bad_version.data(), bad_version.size());
  CHECK(h.status == FrameHead::Status::error);
  CHECK(h.error.find("version 9") != std::string::npos);

  std::string bad_type = f;
  bad_type[5] = 77;
  CHECK(peek_frame(bad_type.data(), bad_type.size()).status == FrameHead::Status::error);

  std::string short_len = f;
  short_len[0] = short_len[1] = short_len[2] = 0;
  short_len[3] = 1;
  CHECK(peek_frame(short_len.data(), short_len.size()).status == FrameHead::Status::error);
}

TEST_CASE("codec: frames over the limit are refused from the header alone") {
  std::string big = encode_frame(FrameType::raft, std::string(5000, 'x'));
  FrameHead h = peek_frame(big.data(), kFrameHeaderSize, 4096);
  CHECK(h.status == FrameHead::Status::error);
  CHECK(h.error.find("exceeds limit 4096") != std::string::npos);
  // A header claiming 4 GiB is refused before anything is buffered.
  std::string huge = "\xff\xff\xff\xff\x01\x02";
  h = peek_frame(huge.data(), huge.size());
  CHECK(h.status == FrameHead::Status::error);
}

TEST_CASE("codec: decoding is total on truncated and mutated input") {
  Message m = sample(MsgType::app);
  std::string p = encode_message(m);
  Message out;
  std::string err;
  for (size_t n = 0; n < p.size(); ++n) {
    INFO("length " << n);
    CHECK_FALSE(decode_message(std::string_view(p).substr(0, n), &out, &err));
    CHECK(!err.empty());
  }
  CHECK_FALSE(decode_message(p + "x", &out, &err));
  CHECK(err.find("trailing") != std::string::npos);

  std::string bad = p;
  bad[0] = 0;  // message type 0
  CHECK_FALSE(decode_message(bad, &out, &err));
  bad = p;
  bad[0] = static_cast<char>(kMaxMsgType + 1);
  CHECK_FALSE(decode_message(bad, &out, &err));
  bad = p;
  bad[1 + 6 * 8] = 4;  // unknown flag bit
  CHECK_FALSE(decode_message(bad, &out, &err));

  // An entry count far beyond what the payload can hold: refused before reserving.
  size_t count_at = 1 + 6 * 8 + 1 + 3 * 8;
  bad = p;
  bad[count_at] = bad[count_at + 1] = bad[count_at + 2] = bad[count_at + 3] = '\xff';
  CHECK_FALSE(decode_message(bad, &out, &err));
  CHECK(err.find("entry count") != std::string::npos);

  // Random byte flips never crash and either decode or explain why not.
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    std::string q = p;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) q[rng() % q.size()] = static_cast<char>(rng());
    err.clear();
    if (!decode_message(q, &out, &err)) CHECK(!err.empty());
  }
}

TEST_CASE("codec: reader and writer primitives") {
  Writer w;
  w.u8(1);
  w.u32(0xdeadbeef);
  w.u64(0x0102030405060708ull);
  w.bytes("abc");
  std::string s = w.take();
  CHECK(s.size() == 1 + 4 + 8 + 4 + 3);
  Reader r(s);
  CHECK(r.u8("a") == 1);
  CHECK(r.u32("b") == 0xdeadbeef);
  CHECK(r.u64("c") == 0x0102030405060708ull);
  CHECK(r.bytes("d") == "abc");
  CHECK(r.ok());
  CHECK(r.at_end());
  CHECK(r.u8("past end") == 0);
  CHECK_FALSE(r.ok());
  CHECK(r.error().find("past end") != std::string::npos);
}

TEST_CASE("an empty snapshot marked present is refused (one encoding per message)") {
  // Found by fuzz_consensus_codec: has_snapshot = 1 with index 0, term 0 and
  // no data decoded, but re-encoded as "no snapshot".
  const unsigned char raw[] = {
      10, 0, 0,   0, 0, 0, 0,   0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0,
      0,  0, 211, 0, 0, 0, 244, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0,
      0,  0, 0,   0, 0, 0, 0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
      0,  0, 0,   0, 0, 0, 0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 4};
  pw::consensus::Message m;
  std::string err;
  CHECK_FALSE(pw::consensus::decode_message(
      std::string_view(reinterpret_cast<const char*>(raw), sizeof raw), &m, &err));
  CHECK(err.find("empty snapshot marked present") != std::string::npos);
}
