// Unit tests for the lease arithmetic of DESIGN I1.
#include <catch2/catch.hpp>

#include "ha/lease.h"

using namespace pw::node;

TEST_CASE("the decider waits lease*(1+drift)+grace from the last applied renewal") {
  LeaseParams p{3000, 0.05, 300, 1000};
  CHECK(p.wait_ms() == 3450);
  LeaseWatch w(p);
  w.renewal_applied(4, 10000);
  CHECK_FALSE(w.expired(4, 13449));
  CHECK(w.expired(4, 13450));
  w.renewal_applied(4, 12000);  // a later renewal pushes the wait
  CHECK_FALSE(w.expired(4, 13450));
  CHECK(w.remaining(4, 15000) == 450);
}

TEST_CASE("the holder's lease runs from its own proposal time, and only once applied") {
  LeaseParams p{3000, 0.05, 300, 1000};
  LeaseHold h(p);
  h.proposed(2, 1, 1000);
  CHECK_FALSE(h.holds(2, 1001));  // proposed is not enough
  h.applied(2, 1);
  CHECK(h.holds(2, 3999));
  CHECK_FALSE(h.holds(2, 4000));
  CHECK_FALSE(h.holds(3, 2000));  // another epoch
  CHECK_FALSE(h.must_fence(2, 2999));
  CHECK(h.must_fence(2, 3000));
  h.applied(2, 7);  // unknown seq (e.g. proposed before a restart): ignored
  CHECK(h.until_ms() == 4000);
}

TEST_CASE("holder expiry always precedes the decider's wait, for any apply delay") {
  // The decider applies a renewal no earlier than it was proposed, so with
  // equal clocks holder.until = t_p + lease < t_apply + wait.
  LeaseParams p{3000, 0.05, 300, 1000};
  for (int64_t delay = 0; delay < 5000; delay += 37) {
    LeaseHold h(p);
    LeaseWatch w(p);
    h.proposed(1, 1, 1000);
    h.applied(1, 1);
    w.renewal_applied(1, 1000 + delay);
    for (int64_t t = 1000; t < 10000; t += 10)
      if (w.expired(1, t)) CHECK_FALSE(h.holds(1, t));
  }
}
