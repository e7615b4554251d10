// tests/sim/simulator.hpp: a seeded, deterministic cluster simulation.
//
// N core nodes (3 or 5) on an in-memory network that drops, delays, duplicates
// and reorders messages, partitions links (both ways or one way) and crashes
// nodes, which restart with only what they persisted (a crash may also strike
// between sending a Ready's messages and persisting it). Clients propose and
// read all the time. After every delivery and every tick the Raft safety
// properties are checked (paper Figure 3, like LogCabin's invariants):
//   Election Safety, Log Matching, Leader Completeness, State Machine Safety,
//   terms and commit indexes never going back, and linearizable reads (a read's
//   index covers every write acknowledged before the read began).
// Some seeds compact: nodes snapshot their state machine every few entries, so
// a node that was down or cut off catches up by InstallSnapshot, sent in small
// chunks; a restored snapshot must equal the committed prefix it covers.
// Every run ends by healing everything and requiring, within a bound, first that
// the idle cluster converges on one leader's log (no proposal may be needed to
// repair a follower), then that a final proposal commits and applies everywhere.
//
// Time: one step is a quarter tick; nodes tick every 4 steps at their own phase.
#pragma once

#include "support/harness.hpp"

#include <raftkv/core/detail/prng.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <queue>
#include <sstream>
#include <string>
#include <vector>

namespace raftkv::sim {

using namespace raftkv::test;

/// A 64-bit finalizer (SplitMix64's): spreads seeds and hashes.
inline std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

/// Hash of a log prefix through `e`, given the hash through the entry before:
/// two logs agree through index i exactly when their chains agree (up to collisions).
std::uint64_t chain_hash(std::uint64_t prev, const entry& e);

/// The fault mix of one run, drawn from its seed.
struct fault_profile {
  std::size_t nodes = 3;
  int drop_per_mille = 0;         ///< messages lost
  int dup_per_mille = 0;          ///< messages delivered twice
  int long_delay_per_mille = 0;   ///< messages held for up to 10 ticks (reordering)
  int partition_per_mille = 0;    ///< per step: chance a partition starts (when none is on)
  bool one_way = false;           ///< partitions may cut one direction only
  int crash_per_mille = 0;        ///< per step: chance a node crashes
  int leader_fault_per_mille = 0; ///< per step: the leader crashes or is cut off
  int new_leader_fault_per_mille = 0;  ///< per election: the new leader crashes or is cut off
                                       ///< within 2 ticks, before its no-op spreads (Figure 8)
  int crash_mid_ready_per_mille = 0;  ///< per Ready: crash after sending, before persisting
  int transfer_per_mille = 0;     ///< per step: the leader is asked to transfer
  int campaign_per_mille = 0;     ///< per step: a random node is told to campaign
  std::size_t max_append_entries = 8;  ///< small batches split a new leader's catch-up (Figure 8)
  int starve_new_entries_per_mille = 0;  ///< appends carrying an entry of the sender's own term
                                         ///< are lost this often: old-term entries spread while
                                         ///< the leader's own do not (the Figure 8 window)
  bool pre_vote = true;           ///< core options under test
  bool check_quorum = true;
  std::size_t compact_threshold = 0;  ///< applied entries in the log before a snapshot; 0: never
  std::size_t compact_keep = 0;       ///< entries kept behind a snapshot for slow followers
  std::uint64_t snapshot_chunk_bytes = 1 << 20;  ///< small: snapshots travel in many chunks

  static fault_profile from_seed(std::uint64_t seed);
  std::string describe() const;
};

/// Counters for the run summary.
struct sim_stats {
  std::uint64_t deliveries = 0, ticks = 0, proposals_acked = 0, reads_checked = 0;
  std::uint64_t leaders_elected = 0, crashes = 0, partitions = 0, max_term = 0;
  std::uint64_t committed = 0, snapshots_taken = 0, snapshots_restored = 0;

  sim_stats& operator+=(const sim_stats& o) {
    deliveries += o.deliveries;
    ticks += o.ticks;
    proposals_acked += o.proposals_acked;
    reads_checked += o.reads_checked;
    leaders_elected += o.leaders_elected;
    crashes += o.crashes;
    partitions += o.partitions;
    max_term = std::max(max_term, o.max_term);
    committed += o.committed;
    snapshots_taken += o.snapshots_taken;
    snapshots_restored += o.snapshots_restored;
    return *this;
  }
};

class simulation {
 public:
  /// `verbose` records every message and every core event in the trace.
  simulation(std::uint64_t seed, bool verbose);

  /// Runs the fault phase then the liveness phase. Throws invariant_violation
  /// (from a core assert or from a property check) on failure.
  void run(int fault_ticks = 300, int liveness_ticks = 200);

  /// The last lines of the trace, oldest first.
  std::string trace() const;
  const sim_stats& stats() const { return stats_; }
  const fault_profile& profile() const { return profile_; }

 private:
  struct in_flight {
    std::uint64_t at = 0;   ///< delivery step
    std::uint64_t seq = 0;  ///< tie-break: FIFO among equal steps
    message msg;
    bool operator>(const in_flight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  struct proposal {
    term_t term = 0;
    std::string data;
  };
  struct pending_read {
    node_id node = 0;
    index_t required = 0;  ///< highest acknowledged write index when the read began
  };
  /// What the checker remembers about one node.
  struct observed {
    std::vector<std::uint64_t> chain{0};  ///< chain[i]: hash of the persisted log through index i
    term_t life_term = 0;                 ///< highest term seen in this lifetime
    index_t life_commit = 0;              ///< highest commit seen in this lifetime
    term_t disk_term = 0;                 ///< highest persisted term, over all lifetimes
    index_t disk_commit = 0;              ///< highest persisted commit, over all lifetimes
    bool was_leader = false;
    std::map<index_t, proposal> proposals;  ///< proposals it accepted as leader, not yet acked
  };

  void step_once(bool faults);
  void maybe_inject_faults();
  void client_actions();
  void deliver_due();
  void tick_nodes();
  void process(node_id id);
  void send(message m);
  void crash(node_id id);
  void restart(node_id id);
  void heal();
  void partition();
  void fault_leader(node_id leader);

  void on_ready(node_id id, const core::ready& rd);
  void check_node(node_id id);
  void check_election_safety(node_id id);
  void check_leader_completeness(node_id id);
  void record_committed(node_id id);
  void fail(const std::string& what);

  bool blocked(node_id from, node_id to) const { return blocked_[from][to]; }
  bool chance(int per_mille) { return per_mille > 0 && rng_.below(1000) < static_cast<std::uint64_t>(per_mille); }
  node_id random_node() { return 1 + rng_.below(profile_.nodes); }
  node_id leader_now() const;
  node_id any_leader();
  void trace_line(std::string line);

  std::uint64_t seed_;
  bool verbose_;
  fault_profile profile_;
  core::detail::prng rng_;
  std::map<node_id, test_node> nodes_;
  std::map<node_id, observed> seen_;
  std::priority_queue<in_flight, std::vector<in_flight>, std::greater<>> network_;
  std::vector<std::vector<bool>> blocked_;  ///< blocked_[from][to]: the link drops everything
  std::uint64_t step_ = 0, msg_seq_ = 0, partition_until_ = 0;
  std::map<node_id, std::uint64_t> down_until_;  ///< crashed nodes and their restart step
  std::vector<node_id> new_leaders_;            ///< elected since the last fault step
  std::map<node_id, std::uint64_t> leader_fault_at_;  ///< scheduled new-leader faults

  // Global knowledge for the properties.
  std::map<term_t, node_id> leaders_;  ///< Election Safety: the leader of each term
  std::map<std::pair<index_t, term_t>, std::uint64_t> chain_by_id_;  ///< Log Matching
  std::vector<std::uint64_t> committed_chain_{0};  ///< chain hash of each committed index
  std::vector<term_t> commit_term_{0};             ///< term in which each index first committed
  std::vector<entry> applied_;                     ///< State Machine Safety: the one applied sequence
  std::vector<std::string> acked_;                 ///< data of acknowledged writes
  index_t max_acked_index_ = 0;
  std::map<std::uint64_t, pending_read> reads_;
  std::uint64_t next_read_ = 1, next_proposal_ = 1;

  sim_stats stats_;
  std::vector<std::string> trace_;  ///< ring of the last trace_cap_ lines
  std::size_t trace_head_ = 0;
  static constexpr std::size_t trace_cap_ = 400;
};

}  // namespace raftkv::sim
