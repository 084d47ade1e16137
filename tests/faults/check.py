"""tests/faults/check.py — the checkers: split brain, acknowledged-then-lost
writes, unavailability, failed attempts by error. Pure functions over what
workload.Workload recorded, so they are easy to read and to trust.
"""
import collections
import re

# Two accepted monitor writes on one server less than this apart belong to
# one "writable" run (the monitor writes every 100 ms; a busy machine may
# delay one a little).
RUN_GAP = 0.35


def writable_runs(times):
    """Sorted server times of accepted writes -> [(first, last)] runs."""
    runs = []
    for t in sorted(times):
        if runs and t - runs[-1][1] <= RUN_GAP:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    return [tuple(r) for r in runs]


def split_brain_events(mon, t0, t1):
    """Overlaps in time between writable runs of two different servers, in
    [t0, t1). A legitimate handover never overlaps: the old primary stops
    accepting writes (I2) before the new one is promoted (I1, I3)."""
    runs = {n: writable_runs([t for t in ts if t0 <= t < t1]) for n, ts in mon.items()}
    names = sorted(runs)
    events = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for (s1, e1) in runs[a]:
                for (s2, e2) in runs[b]:
                    lo, hi = max(s1, s2), min(e1, e2)
                    if lo <= hi:
                        events.append((a, b, lo, hi))
    return events


def longest_gap(ack_times, t0, t1, before=None):
    """Longest interval without an acknowledged write within [t0, t1].
    `before` is the last ack before t0 (the gap then starts there)."""
    pts = sorted(t for t in ack_times if t0 <= t <= t1)
    prev = before if before is not None else t0
    gap = 0.0
    for t in pts + [t1]:
        gap = max(gap, t - prev)
        prev = t
    return gap


def normalize_error(text):
    """Groups error texts that differ only by numbers/addresses."""
    text = re.sub(r"\d+(\.\d+)*", "N", text or "")
    return text[:120]


def errors_by_text(attempts):
    c = collections.Counter()
    for a in attempts:
        if a.outcome != "acked":
            c[f"{a.outcome}: {normalize_error(a.error)}"] += 1
    return c


def lost_ids(acked, present):
    """Acknowledged ids missing from the final primary."""
    return sorted(i for i in acked if i not in present)
