// consensus/state_machine.h — what the replicated application implements.
// The cluster state (node/cluster_state.*) is the production implementation;
// tests use small ones. Called on the control thread only.
#pragma once

#include <cstdint>
#include <string>

namespace pw::consensus {

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  /// Applies the committed entry at `index`, in index order, exactly once per
  /// process lifetime (after restart, entries after the last snapshot are
  /// replayed). Must be deterministic. Empty `data` entries (leader no-ops)
  /// are not passed here.
  virtual void apply(uint64_t index, const std::string& data) = 0;
  /// Serializes the whole state as of the last applied index.
  virtual std::string snapshot() const = 0;
  /// Replaces the whole state with a snapshot produced by snapshot().
  /// Returns false (and leaves the state unchanged) on malformed input.
  virtual bool restore(const std::string& data) = 0;
};

}  // namespace pw::consensus
