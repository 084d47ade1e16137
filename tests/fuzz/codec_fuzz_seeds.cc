// tests/fuzz/codec_fuzz_seeds.cc — writes a seed corpus for codec_fuzz: one
// payload and one frame per message type, so the fuzzer starts from valid
// shapes instead of discovering the format from nothing.
#include <cstdio>
#include <string>

#include "consensus/codec.h"

using namespace pw::consensus;

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  for (uint8_t t = 1; t <= kMaxMsgType; ++t) {
    Message m;
    m.type = static_cast<MsgType>(t);
    m.from = 1, m.to = 2, m.term = 3, m.index = 4, m.log_term = 3, m.commit = 2;
    if (t == 1 || t == 10) m.entries.push_back(Entry{3, 5, EntryType::normal, "data"});
    if (t == 9) m.snapshot = Snapshot{4, 3, "snapshot", {}};
    if (t == 11) m.reason = "why";
    for (int frame = 0; frame < 2; ++frame) {
      std::string bytes = frame ? encode_message_frame(m) : encode_message(m);
      std::string path =
          std::string(argv[1]) + "/seed-" + std::to_string(t) + (frame ? "-frame" : "-payload");
      FILE* f = fopen(path.c_str(), "wb");
      if (!f) return 1;
      fwrite(bytes.data(), 1, bytes.size(), f);
      fclose(f);
    }
  }
  return 0;
}
