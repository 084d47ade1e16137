// bench/proxy/proxy_bench_main.cc — helper for bench/proxy/run.sh (not a
// test). Modes:
//   proxy --listen IP:PORT --backend IP:PORT [--threads N] [--nice N]
//       runs proxy::Proxy with a static route until SIGTERM/SIGINT
//   sink --listen IP:PORT --count-file FILE
//       accepts TCP connections and holds them (the idle-session backend)
//   idle --connect IP:PORT --n N --count-file FILE
//       opens N connections and holds them until SIGTERM
#include <arpa/inet.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "proxy/proxy.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

bool split(const std::string& s, std::string* host, uint16_t* port) {
  auto c = s.rfind(':');
  if (c == std::string::npos) return false;
  *host = s.substr(0, c);
  *port = static_cast<uint16_t>(atoi(s.c_str() + c + 1));
  return true;
}

sockaddr_in addr_of(const std::string& hp) {
  std::string h;
  uint16_t p = 0;
  if (!split(hp, &h, &p)) {
    fprintf(stderr, "bad address %s\n", hp.c_str());
    exit(2);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(p);
  if (inet_pton(AF_INET, h.c_str(), &a.sin_addr) != 1) {
    fprintf(stderr, "bad address %s\n", hp.c_str());
    exit(2);
  }
  return a;
}

void write_count(const std::string& file, long n) {
  std::string tmp = file + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (!f) return;
  fprintf(f, "%ld\n", n);
  fclose(f);
  rename(tmp.c_str(), file.c_str());
}

void raise_nofile() {
  rlimit r;
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

int run_proxy(const std::string& listen, const std::string& backend, uint32_t threads, int nice) {
  pw::proxy::ProxyOptions o;
  uint16_t port = 0;
  split(listen, &o.listen_address, &port);
  o.port = port;
  o.threads = threads;
  o.thread_nice = nice;
  o.max_client_connections = 100000;
  o.shutdown_grace_ms = 100;
  auto p = pw::proxy::Proxy::start(o);
  pw::proxy::Route r;
  r.epoch = 1;
  r.has_primary = true;
  split(backend, &r.primary.host, &r.primary.port);
  r.valid_until_ms = pw::mono_ms() + 365LL * 86400 * 1000;
  p->publish(r);
  while (!g_stop) pause();
  p->shutdown();
  return 0;
}

int run_sink(const std::string& listen_on, const std::string& count_file) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = addr_of(listen_on);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) || listen(lfd, 4096)) {
    perror("sink bind");
    return 1;
  }
  // Holds connections open; closes them when the peer does, so several
  // rounds of idle sessions do not pile up file descriptors.
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  long total = 0;
  write_count(count_file, 0);
  epoll_event evs[256];
  while (!g_stop) {
    int n = epoll_wait(ep, evs, 256, 200);
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.fd == lfd) {
        int fd;
        while ((fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          epoll_event e{};
          e.events = EPOLLIN | EPOLLRDHUP;
          e.data.fd = fd;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
          ++total;
        }
      } else {
        char buf[256];
        if (read(evs[i].data.fd, buf, sizeof buf) <= 0) close(evs[i].data.fd);
      }
    }
    write_count(count_file, total);
  }
  return 0;
}

int run_idle(const std::string& target, long n, const std::string& count_file) {
  sockaddr_in a = addr_of(target);
  std::vector<int> fds;
  for (long i = 0; i < n && !g_stop; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      perror("idle connect");
      return 1;
    }
    fds.push_back(fd);
  }
  write_count(count_file, static_cast<long>(fds.size()));
  while (!g_stop) pause();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: proxy_bench proxy|sink|idle [options]\n");
    return 2;
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: blocking calls return on SIGTERM
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  pw::log_set_level(pw::LogLevel::warn);
  std::string mode = argv[1], listen, backend, connect_to, count_file = "/dev/null";
  long n = 0;
  uint32_t threads = 1;
  int nice = pw::proxy::ProxyOptions{}.thread_nice;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--listen") listen = v;
    else if (k == "--backend") backend = v;
    else if (k == "--connect") connect_to = v;
    else if (k == "--n") n = atol(v.c_str());
    else if (k == "--threads") threads = static_cast<uint32_t>(atoi(v.c_str()));
    else if (k == "--count-file") count_file = v;
    else if (k == "--nice") nice = atoi(v.c_str());
    else {
      fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    if (mode == "proxy") return run_proxy(listen, backend, threads, nice);
    if (mode == "sink") return run_sink(listen, count_file);
    if (mode == "idle") return run_idle(connect_to, n, count_file);
  } catch (const std::exception& e) {
    fprintf(stderr, "proxy_bench: %s\n", e.what());
    return 1;
  }
  fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
