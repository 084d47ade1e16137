// proxy/cancel.h — delivering a CancelRequest received on the read-only
// port to every backend a session of that port may be running on (DESIGN
// §7): a server ignores a key it did not issue, so sending it everywhere is
// safe, while sending it to one backend chosen by balancing would lose it.
#pragma once

#include <cstdint>

namespace pw::proxy {

class Worker;

/// Sends the 16-byte CancelRequest `pkt` to every replica of the worker's
/// current route and to the primary when readonly_fallback is on. Fire and
/// forget: each send is a short-lived connection bounded by
/// connect_timeout. Returns the number of backends targeted.
int cancel_fan_out(Worker* w, const uint8_t* pkt);

/// Frees a sender still in flight (worker shutdown).
struct CancelSender;
void cancel_sender_free(CancelSender* c);

}  // namespace pw::proxy
