// api/schedule_time.h — the `scheduled_at` of POST /switchover and
// /restart: an ISO 8601 date and time with its offset, as Patroni takes it
// ("2026-12-08T04:00:00Z", "2026-12-08T05:00:00+01:00", fractions of a
// second allowed), to milliseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pw::node {

/// The time in ms since the epoch, or nullopt (then *err says what is wrong).
/// A time without an offset is refused: the daemons' and the operator's
/// time zones need not agree.
std::optional<int64_t> parse_schedule_time(const std::string& text, std::string* err);

}  // namespace pw::node
