// tests/fuzz/codec_fuzz.cc — libFuzzer target for the wire codec. Properties:
// peek_frame and decode_message never crash, hang or over-allocate on any
// input (ASan/UBSan catch the rest), and whatever decodes re-encodes to
// something that decodes to the same message (the format has one meaning).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "consensus/codec.h"

using namespace pw::consensus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The frame layer, with a small limit so "over the limit" paths are hit.
  FrameHead h = peek_frame(data, size, 4096);
  if (h.status == FrameHead::Status::ok && h.frame_size > size) abort();
  if (h.status == FrameHead::Status::error && h.error.empty()) abort();

  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The whole input as a raft payload, and as a frame's payload.
  for (std::string_view payload :
       {in, h.status == FrameHead::Status::ok ? frame_payload(in.substr(0, h.frame_size))
                                              : std::string_view()}) {
    Message m;
    std::string err;
    if (!decode_message(payload, &m, &err)) {
      if (err.empty()) abort();
      continue;
    }
    std::string again = encode_message(m);
    if (again != payload) abort();  // canonical: one encoding per message
    Message m2;
    if (!decode_message(again, &m2, &err) || !(m2 == m)) abort();
  }
  // Reader primitives on arbitrary bytes.
  Reader r(in);
  while (r.ok() && !r.at_end()) (void)r.bytes("fuzz");
  return 0;
}
