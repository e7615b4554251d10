// raftkv/core/progress.hpp: the leader's view of one follower (Figure 2
// nextIndex/matchIndex, plus flow control).
//
// A follower is probed (one append at a time, until we find where our logs
// match), replicated to (appends pipelined, at most max_inflight_appends
// unacknowledged), or sent a snapshot because the entries it needs were
// compacted (§7; one chunk at a time, no appends meanwhile). Invariant:
// match < next; in snapshot state, match < sending_snapshot.last.index.
#pragma once

#include <raftkv/core/types.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace raftkv::core {

/// A bounded FIFO of the last index of each unacknowledged append.
class inflights {
 public:
  explicit inflights(std::size_t capacity) : buf_(capacity) {}

  bool full() const { return count_ == buf_.size(); }
  std::size_t count() const { return count_; }
  std::size_t capacity() const { return buf_.size(); }
  /// Records an append ending at `last`; must not be full.
  void add(index_t last);
  /// Acknowledges every append ending at or before `index`.
  void free_to(index_t index);
  /// Frees the oldest slot (a heartbeat response shows the follower is alive).
  void free_first();
  void reset() { start_ = count_ = 0; }

 private:
  std::vector<index_t> buf_;  ///< ring buffer of last indexes, oldest at start_
  std::size_t start_ = 0;
  std::size_t count_ = 0;     ///< 0 <= count_ <= buf_.size()
};

enum class progress_state : std::uint8_t { probe, replicate, snapshot };

/// "probe", "replicate" or "snapshot".
std::string_view to_string(progress_state s) noexcept;

class progress {
 public:
  progress(index_t next, std::size_t max_inflight) : next(next), inflight(max_inflight) {}

  index_t match = 0;  ///< highest index known replicated on the follower; only grows while leader
  index_t next = 1;   ///< next index to send; match < next
  progress_state state = progress_state::probe;
  bool probe_sent = false;    ///< probe: an append is out, wait for an answer before the next
  bool recent_active = false; ///< heard from it since the last CheckQuorum round
  std::uint64_t ticks_since_contact = 0;  ///< leader ticks since its last response
  inflights inflight;         ///< replicate: unacknowledged appends

  // Snapshot state: the snapshot being sent, pinned so that a newer one taken
  // meanwhile does not change the bytes under the follower.
  core::snapshot sending_snapshot{};  ///< empty outside snapshot state
  std::uint64_t snapshot_acked = 0;   ///< bytes the follower last said it holds; <= its size
  std::uint64_t snapshot_sent = 0;    ///< end of the chunk in flight; <= its size
  int snapshot_idle_heartbeats = 0;   ///< heartbeats since a chunk was last sent or acknowledged
  /// Last index of a snapshot it refused, or that we could not read back;
  /// never offered again.
  index_t snapshot_refused = 0;

  /// No more appends now (probe with one outstanding, or the window is full).
  bool is_paused() const;
  void become_probe();
  void become_replicate();
  /// Starts sending `s` (its last index is beyond match); appends pause.
  void become_snapshot(core::snapshot s);
  /// An acceptance up to `n`: raises match (and next). True when match moved.
  bool maybe_update(index_t n);
  /// An append up to `last` was sent in replicate state.
  void optimistic_update(index_t last) { next = last + 1; }
  /// A rejection of the append at `rejected` (its prevLogIndex): back to probe
  /// state at `candidate_next`, clamped to (match, rejected]. False (and nothing
  /// changed) for a stale rejection.
  bool maybe_decrease_to(index_t rejected, index_t candidate_next);
  /// Someone answered: counts for CheckQuorum and last contact.
  void heard_from() {
    recent_active = true;
    ticks_since_contact = 0;
  }
};

}  // namespace raftkv::core
