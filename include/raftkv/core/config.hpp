// raftkv/core/config.hpp: everything that parameterises one Raft node.
//
// Time is counted in ticks (the caller decides how long a tick is). The election
// timeout of each round is drawn from [election_ticks, 2*election_ticks) by a PRNG
// seeded with `seed`: same config and inputs, same behaviour.
#pragma once

#include <raftkv/core/types.hpp>
#include <raftkv/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace raftkv::core {

struct config {
  node_id id = no_node;          ///< this node; must be one of `voters`
  std::vector<node_id> voters;   ///< every member of the cluster, this node included

  int election_ticks = 10;       ///< base election timeout (§5.2); randomized up to twice this
  int heartbeat_ticks = 1;       ///< leader heartbeat interval; must be < election_ticks
  std::uint64_t seed = 1;        ///< seeds election jitter; give each node a different one

  bool pre_vote = true;          ///< thesis §9.6: ask before bumping the term
  bool check_quorum = true;      ///< a leader that hears from no quorum for an election timeout steps down

  std::size_t max_append_entries = 256;             ///< entries per append message
  std::uint64_t max_append_bytes = 1 << 20;         ///< bytes per append message (at least one entry is sent)
  std::size_t max_inflight_appends = 64;            ///< unacknowledged appends per follower in replicate state
  std::size_t max_uncommitted_entries = 10000;      ///< leader refuses proposals beyond this (errc::proposal_dropped)
  std::size_t max_pending_reads = 4096;             ///< ReadIndex requests waiting on a node
  std::uint64_t max_committed_bytes_per_ready = 8 << 20;  ///< committed entries handed out per Ready (at least one)
  std::uint64_t snapshot_chunk_bytes = 1 << 20;     ///< bytes of snapshot per install_snapshot message
  std::uint64_t max_snapshot_bytes = std::uint64_t{1} << 32;  ///< a follower refuses larger snapshots
  /// Checks a snapshot received from the leader before the log is replaced
  /// by it (e.g. the state machine can restore it, at that index). A refused
  /// snapshot leaves the log alone and is not offered again by this leader
  /// until it has a newer one. Unset: every complete snapshot is accepted.
  std::function<bool(entry_id last, const std::string& data)> accept_snapshot{};

  bool record_events = true;     ///< build event texts; off costs nothing per decision
  std::size_t max_events_per_ready = 1024;  ///< events beyond this are counted, not kept

  /// Checks ranges and membership; errc::invalid_config with nothing changed otherwise.
  result<void> validate() const;
};

}  // namespace raftkv::core
