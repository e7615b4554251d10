// raftkv/core/ready.hpp: the core's output, one numbered batch at a time.
//
// The caller handles a ready in this order, then calls node::advance(rd):
//   1. send `messages` (they are safe before persisting: a leader may replicate
//      entries while it writes them itself, thesis §10.2.1);
//   2. persist `snapshot` (if set: it replaces the whole log), then `entries`
//      and `hard` (if set), in one durable write;
//   3. send `messages_after_persist` (votes and append acknowledgements promise
//      persisted state, Figure 2);
//   4. restore the state machine from `snapshot` (if set), then apply
//      `committed_entries` to it, in order;
//   5. serve each read in `read_states` once the state machine has applied its
//      index; fail each read in `reads_dropped`.
#pragma once

#include <raftkv/core/event.hpp>
#include <raftkv/core/types.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace raftkv::core {

struct ready {
  std::uint64_t number = 0;                 ///< 1, 2, 3, ... per node lifetime
  std::optional<soft_state> soft;           ///< set when leader or role changed
  std::optional<hard_state> hard;           ///< set when term, vote or commit changed
  std::optional<core::snapshot> snapshot;   ///< a snapshot from the leader to persist and restore (§7)
  std::vector<entry> entries;               ///< to append to stable storage (may replace a suffix)
  std::vector<entry> committed_entries;     ///< to apply, in index order
  std::vector<message> messages;            ///< to send now
  std::vector<message> messages_after_persist;  ///< to send once `hard` and `entries` are durable
  std::vector<read_state> read_states;      ///< confirmed ReadIndex requests
  std::vector<std::uint64_t> reads_dropped; ///< contexts of ReadIndex requests that will never complete
  std::vector<event> events;                ///< decisions and their reasons, oldest first
  std::uint64_t events_dropped = 0;         ///< events past config::max_events_per_ready

  /// True when nothing needs handling (advance() is still allowed).
  bool empty() const {
    return !soft && !hard && !snapshot && entries.empty() && committed_entries.empty() && messages.empty() &&
           messages_after_persist.empty() && read_states.empty() && reads_dropped.empty() &&
           events.empty() && events_dropped == 0;
  }
};

}  // namespace raftkv::core
