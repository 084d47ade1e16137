// tests/unit/proxy_refusal_backoff_test.cc — the per-backend pace of new
// sessions after a server refused one with 57P03 (proxy/refusal_backoff.h):
// one probe per wait, the wait doubling to its cap, a burst counted once,
// and an end to it when a session is accepted or the route changes.
#include <catch2/catch.hpp>

#include "proxy/refusal_backoff.h"

using pw::proxy::BackoffPolicy;
using pw::proxy::RefusalBackoff;

TEST_CASE("refusal backoff: one probe per wait, doubling up to the cap") {
  RefusalBackoff b;
  BackoffPolicy p{250, 1000};
  CHECK_FALSE(b.active());
  CHECK(b.admit(0));  // nothing refused yet: everyone goes
  CHECK(b.admit(0));
  b.refused(0, 10, p);
  CHECK(b.active());
  CHECK(b.cooling(10));
  CHECK(b.wait_ms(10) == 250);
  CHECK_FALSE(b.admit(259));
  // The wait is over: one session is the probe, the next ones wait for it.
  CHECK(b.admit(260));
  CHECK_FALSE(b.admit(261));
  CHECK(b.wait_ms(261) == 249);
  b.refused(260, 270, p);
  CHECK(b.interval_ms() == 500);
  CHECK(b.wait_ms(270) == 500);
  CHECK(b.admit(770));
  b.refused(770, 771, p);
  CHECK(b.interval_ms() == 1000);
  CHECK(b.admit(1771));
  b.refused(1771, 1772, p);
  CHECK(b.interval_ms() == 1000);  // capped
}

TEST_CASE("refusal backoff: sessions sent before the first refusal do not escalate it") {
  RefusalBackoff b;
  BackoffPolicy p{250, 4000};
  // Ten sessions connect at 0..9 and are all refused around 20.
  for (int i = 0; i < 10; ++i) b.refused(i, 20 + i, p);
  CHECK(b.interval_ms() == 250);
  CHECK(b.wait_ms(20) == 250);
}

TEST_CASE("refusal backoff: an accepted session or a route change ends it") {
  RefusalBackoff b;
  BackoffPolicy p{250, 4000};
  b.refused(0, 1, p);
  CHECK(b.admit(300));
  b.refused(300, 301, p);
  CHECK(b.interval_ms() == 500);
  b.reset();
  CHECK_FALSE(b.active());
  CHECK_FALSE(b.cooling(302));
  CHECK(b.admit(302));
  CHECK(b.admit(302));  // no probe needed: everyone goes again
  b.refused(302, 303, p);
  CHECK(b.interval_ms() == 250);  // starts over
}

TEST_CASE("refusal backoff: a cap below the first wait is the wait") {
  RefusalBackoff b;
  b.refused(0, 0, BackoffPolicy{250, 100});
  CHECK(b.interval_ms() == 100);
  CHECK(b.admit(100));
  b.refused(100, 100, BackoffPolicy{250, 100});
  CHECK(b.interval_ms() == 100);
}
