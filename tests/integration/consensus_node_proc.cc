// tests/integration/consensus_node_proc.cc — one RaftNode as its own
// process, driven over stdin/stdout by integration_consensus_crash (which
// SIGKILLs it: a real crash, not an orderly stop). Logs go to stderr.
//
//   consensus_node_proc <cluster> <self id> <state dir> <name=host>...
//
// Commands (one per line on stdin), answers (one line on stdout):
//   status            → "status leader=<0|1> leader_id=N term=T commit=C applied=A count=K digest=D
//   in_order=<0|1>" propose N PREFIX  → proposes N entries; when all callbacks ran:
//                       "proposed committed=X failed=Y"
// EOF on stdin (the test died) ends the process.
#include <event2/event.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include "consensus/raft_node.h"
#include "consensus_raft_support.h"

using namespace pw::consensus;

namespace {

struct Proc {
  event_base* base = nullptr;
  std::unique_ptr<RaftNode> node;
  pw::test::DigestStateMachine sm;
  std::string inbuf;
};

void reply(const std::string& line) {
  std::string l = line + "\n";
  if (::write(1, l.data(), l.size()) < 0) _exit(1);
}

void command(Proc& p, const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  if (cmd == "status") {
    char buf[512];
    snprintf(buf, sizeof buf,
             "status leader=%d leader_id=%llu term=%llu commit=%llu applied=%llu count=%llu "
             "digest=%llu in_order=%d",
             p.node->is_leader() ? 1 : 0, static_cast<unsigned long long>(p.node->leader_id()),
             static_cast<unsigned long long>(p.node->term()),
             static_cast<unsigned long long>(p.node->commit_index()),
             static_cast<unsigned long long>(p.node->applied_index()),
             static_cast<unsigned long long>(p.sm.count),
             static_cast<unsigned long long>(p.sm.digest), p.sm.in_order ? 1 : 0);
    reply(buf);
  } else if (cmd == "propose") {
    int n = 0;
    std::string prefix;
    in >> n >> prefix;
    struct Batch {
      int left, committed = 0, failed = 0;
    };
    auto b = std::make_shared<Batch>(Batch{n});
    if (n == 0) reply("proposed committed=0 failed=0");
    for (int i = 0; i < n; ++i) {
      p.node->propose(prefix + std::to_string(i), [b](const ProposalResult& r) {
        (r.committed ? b->committed : b->failed)++;
        if (--b->left == 0)
          reply(pw::test::strf("proposed committed=%d failed=%d", b->committed, b->failed));
      });
    }
  } else {
    reply("error unknown command");
  }
}

void stdin_cb(int fd, short, void* arg) {
  auto* p = static_cast<Proc*>(arg);
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) {
    event_base_loopbreak(p->base);
    return;
  }
  p->inbuf.append(buf, static_cast<size_t>(n));
  size_t nl;
  while ((nl = p->inbuf.find('\n')) != std::string::npos) {
    std::string line = p->inbuf.substr(0, nl);
    p->inbuf.erase(0, nl + 1);
    command(*p, line);
  }
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  if (argc < 5) {
    fprintf(stderr, "usage: %s cluster self_id state_dir name=host...\n", argv[0]);
    return 2;
  }
  RaftOptions o;
  o.cluster_name = argv[1];
  o.self_id = strtoull(argv[2], nullptr, 10);
  o.state_dir = argv[3];
  for (int i = 4; i < argc; ++i) {
    std::string m = argv[i];
    size_t eq = m.find('=');
    o.peers.push_back({static_cast<uint64_t>(i - 3), m.substr(0, eq), m.substr(eq + 1), 5010});
  }
  o.tick_ms = 50;
  o.election_ticks = 20;
  o.snapshot_entries = 1500;
  pw::log_set_node(o.peers[o.self_id - 1].name);

  Proc p;
  p.base = event_base_new();
  try {
    p.node = RaftNode::open(p.base, o, &p.sm);
    p.node->start();
  } catch (const std::exception& e) {
    fprintf(stderr, "open failed: %s\n", e.what());
    reply(std::string("error ") + e.what());
    return 1;
  }
  reply("ready");
  event* ev = event_new(p.base, 0, EV_READ | EV_PERSIST, stdin_cb, &p);
  event_add(ev, nullptr);
  event_base_dispatch(p.base);
  event_free(ev);
  p.node.reset();
  event_base_free(p.base);
  return 0;
}
