/* tests/faults/delayer.c — a userspace "netem" for the fault harness.
 *
 * This kernel has no sch_netem, so a slow lossy link is made with NFQUEUE:
 * the harness adds, in a member's namespace,
 *     iptables -A OUTPUT -o eth0 -j NFQUEUE --queue-num Q --queue-bypass
 * and runs this program in the same namespace. Every queued packet is
 * dropped with probability LOSS_PCT, otherwise held DELAY_MS and accepted.
 *
 * Fail-open on both sides: --queue-bypass accepts packets while no program
 * is bound to the queue (before start, after exit or a crash), and the
 * queue is configured with NFQA_CFG_F_FAIL_OPEN so a full queue accepts
 * instead of dropping. A harness bug can therefore slow a link but never
 * cut it for good.
 *
 * All packets get the same delay, so verdicts are due in arrival order: a
 * FIFO ring is enough, no heap.
 *
 * Usage: pw_fault_delayer QUEUE DELAY_MS LOSS_PCT SEED   (stops on SIGTERM)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h> /* after arpa/inet.h: it pulls linux/in.h */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define RING 65536

static struct {
  uint32_t id;
  int64_t due_ms;
} ring[RING];
static size_t head, tail; /* pending = ring[head..tail) */
static int64_t delay_ms;
static int loss_pct;
static unsigned long long dropped, delayed, overflow;
static volatile sig_atomic_t stop;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

/* Called by nfq_handle_packet for each queued packet: decide its fate. */
static int on_packet(struct nfq_q_handle* qh, struct nfgenmsg* msg, struct nfq_data* nfa,
                     void* data) {
  (void)msg;
  (void)data;
  struct nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (rand() % 100 < loss_pct) {
    dropped++;
    return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
  }
  if (tail - head >= RING) { /* cannot hold it: let it through (fail-open) */
    overflow++;
    return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
  }
  ring[tail % RING].id = id;
  ring[tail % RING].due_ms = now_ms() + delay_ms;
  tail++;
  delayed++;
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s QUEUE DELAY_MS LOSS_PCT SEED\n", argv[0]);
    return 2;
  }
  int qnum = atoi(argv[1]);
  delay_ms = atoll(argv[2]);
  loss_pct = atoi(argv[3]);
  srand((unsigned)strtoul(argv[4], NULL, 10));

  struct nfq_handle* h = nfq_open();
  if (!h) {
    perror("delayer: nfq_open");
    return 1;
  }
  struct nfq_q_handle* qh = nfq_create_queue(h, (uint16_t)qnum, on_packet, NULL);
  if (!qh) {
    fprintf(stderr, "delayer: cannot bind queue %d: %s\n", qnum, strerror(errno));
    return 1;
  }
  /* Only the verdict matters: copy no payload. */
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) nfq_set_mode(qh, NFQNL_COPY_PACKET, 0);
  nfq_set_queue_maxlen(qh, RING);
  nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
  int fd = nfq_fd(h);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  fprintf(stderr, "delayer: queue %d, delay %lld ms, loss %d%%\n", qnum, (long long)delay_ms,
          loss_pct);

  char buf[65536] __attribute__((aligned));
  while (!stop) {
    int timeout = -1;
    if (head != tail) {
      int64_t left = ring[head % RING].due_ms - now_ms();
      timeout = left < 0 ? 0 : (int)left;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout);
    if (n < 0 && errno != EINTR) {
      perror("delayer: poll");
      break;
    }
    if (n > 0) {
      ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0) {
        nfq_handle_packet(h, buf, (int)r);
      } else if (r < 0 && errno == ENOBUFS) {
        /* The kernel dropped netlink messages: those packets were already
           accepted by fail-open; carry on. */
      }
    }
    int64_t t = now_ms();
    while (head != tail && ring[head % RING].due_ms <= t) {
      nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
      head++;
    }
  }
  /* Release whatever is still held before unbinding. */
  while (head != tail) {
    nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
    head++;
  }
  fprintf(stderr, "delayer: stopped; delayed %llu, dropped %llu, overflow %llu\n", delayed, dropped,
          overflow);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
