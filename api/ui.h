// api/ui.h — the status page served at GET /ui: one self-contained
// HTML document (inline CSS and JavaScript, no external assets) that polls
// /cluster, /history and /proxy on the node that served it every two
// seconds and shows members, roles, timelines, lag, activity, the epoch
// history, the active diagnostics with their actions, and proxy counters.
#pragma once

#include <string_view>

namespace pw::node {

/// The page (UTF-8 HTML).
std::string_view ui_page();

}  // namespace pw::node
