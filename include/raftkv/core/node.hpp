// raftkv/core/node.hpp: one Raft node as a pure, deterministic state machine.
//
// Inputs: tick(), step(message), propose(), read_index(), campaign(),
// transfer_leader(). Output: ready() batches (ready.hpp), acknowledged with
// advance(). No IO, clock, threads or global randomness: the same config,
// storage and inputs always give the same outputs.
//
// Bodies are split by concern: impl/node.ipp (step, roles, ready),
// impl/election.ipp, impl/replication.ipp, impl/read_index.ipp, impl/transfer.ipp,
// impl/snapshot.ipp.
#pragma once

#include <raftkv/core/config.hpp>
#include <raftkv/core/detail/prng.hpp>
#include <raftkv/core/detail/text.hpp>
#include <raftkv/core/event.hpp>
#include <raftkv/core/log.hpp>
#include <raftkv/core/progress.hpp>
#include <raftkv/core/ready.hpp>
#include <raftkv/core/storage.hpp>
#include <raftkv/core/types.hpp>
#include <raftkv/error.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace raftkv::core {

/// What a leader knows about one follower, for status pages and the TUI.
struct peer_status {
  node_id id = no_node;
  index_t match = 0;
  index_t next = 0;
  progress_state state = progress_state::probe;
  std::size_t inflight = 0;
  bool recent_active = false;
  std::uint64_t ticks_since_contact = 0;
  index_t snapshot_index = 0;          ///< snapshot state: the snapshot being sent
  std::uint64_t snapshot_acked = 0;    ///< snapshot state: bytes the follower holds
  std::uint64_t snapshot_bytes = 0;    ///< snapshot state: its size
};

/// A copy of one node's state (the source of /v1/status and the TUI).
struct node_status {
  node_id id = no_node;
  role state = role::follower;
  term_t term = 0;
  node_id vote = no_node;
  node_id leader = no_node;
  index_t commit = 0;
  index_t applied = 0;
  index_t first_index = 0;
  index_t last_index = 0;
  term_t last_term = 0;
  index_t stable_index = 0;
  int election_elapsed = 0;   ///< ticks since the timer was last reset
  int election_timeout = 0;   ///< this round's randomized timeout, in ticks
  int heartbeat_elapsed = 0;  ///< leader: ticks since the last heartbeat broadcast
  int heartbeat_timeout = 0;  ///< leader: ticks between heartbeats (config)
  node_id transfer_target = no_node;
  std::size_t pending_reads = 0;
  index_t snapshot_index = 0;           ///< last index of the newest snapshot (0: none)
  term_t snapshot_term = 0;
  std::uint64_t incoming_snapshot_bytes = 0;  ///< follower: bytes of a snapshot being received
  std::vector<peer_status> peers;  ///< leader only: every other voter
};

class node {
 public:
  /// Starts from what `s` holds (term, vote, commit, log). `cfg` must validate;
  /// `s` must outlive the node and is only read.
  node(const config& cfg, const storage& s);

  // -- inputs ---------------------------------------------------------------

  /// Advances logical time by one tick (election and heartbeat timers).
  void tick();
  /// Handles a message from a peer. errc::bad_message when it is not for us.
  result<void> step(message m);
  /// Checks what a message claims about itself (field ranges, consecutive
  /// entries): a malformed message from a buggy or hostile peer is refused
  /// before it can reach an invariant.
  bool well_formed(const message& m) const;
  /// Appends a command on the leader; its id lets the caller match the applied
  /// entry. Refused on other nodes (errc::not_leader with leader() as hint, or
  /// errc::no_leader), during a transfer, or when too much is uncommitted.
  result<entry_id> propose(std::string command);
  /// Requests a linearizable read (§6.4). `context` comes back in a read_state
  /// (or in reads_dropped); it must be unique over the node's lifetime, since a
  /// late answer is matched by context. Followers forward to the leader.
  result<void> read_index(std::uint64_t context);
  /// Starts an election now (with PreVote when configured).
  result<void> campaign();
  /// Hands leadership to `target` (thesis §3.10); leader only.
  result<void> transfer_leader(node_id target);

  // -- output ---------------------------------------------------------------

  bool has_ready() const;
  /// Collects the next batch. Call advance() before the next ready().
  ready get_ready();
  /// The caller handled `rd` (ready.hpp): entries are durable, committed
  /// entries applied.
  void advance(const ready& rd);

  // -- observation ----------------------------------------------------------

  node_id id() const { return cfg_.id; }
  role state() const { return role_; }
  term_t term() const { return term_; }
  node_id leader() const { return leader_; }
  const raft_log& log() const { return log_; }
  node_status status() const;
  /// Asserts every local invariant (log positions, progress, role-scoped state).
  void check_invariants() const;

 private:
  enum class campaign_kind { pre_election, election, transfer };

  // node.ipp: dispatch, roles, output
  void step_leader(message& m);
  void step_candidate(message& m);
  void step_follower(message& m);
  bool settle_term(const message& m);
  void reset(term_t term);
  void become_follower(term_t term, node_id leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void send(message m);
  std::size_t quorum() const { return cfg_.voters.size() / 2 + 1; }
  bool is_voter(node_id id) const;
  template <class F>
  void emit(event_kind kind, F&& make_text);

  // election.ipp
  void tick_election();
  void tick_heartbeat();
  void hup(campaign_kind kind);
  void start_campaign(campaign_kind kind);
  void handle_vote_request(const message& m);
  void handle_vote_response(const message& m);
  bool in_lease() const;
  void check_quorum_or_step_down();

  // replication.ipp
  bool maybe_send_append(node_id to, bool send_if_empty);
  void broadcast_append();
  void broadcast_heartbeat();
  void send_heartbeat(node_id to, std::uint64_t read_round);
  void handle_append(message& m);
  void handle_heartbeat(const message& m);
  void handle_append_response(const message& m);
  void handle_heartbeat_response(const message& m);
  index_t leader_next_from_hint(const message& m) const;
  bool maybe_commit();
  void append_own(std::vector<entry> ents);

  // read_index.ipp
  result<void> handle_read_index(node_id from, std::uint64_t context);
  void handle_read_index_response(const message& m);
  void start_read_round();
  void ack_read_round(node_id from, std::uint64_t round);
  void complete_read_round();
  void release_reads_waiting_for_commit();
  bool can_start_read_round() const;
  void drop_all_reads();
  void expire_forwarded_reads();

  // snapshot.ipp
  bool start_snapshot(node_id to);
  void send_snapshot_chunk(node_id to, std::uint64_t offset);
  void handle_snapshot(const message& m);
  void handle_snapshot_response(const message& m);
  void finish_snapshot(const message& m);
  void answer_snapshot(const message& m, std::uint64_t have, bool give_up);
  void resend_stalled_snapshot(node_id to);

  // transfer.ipp
  void handle_timeout_now(const message& m);
  void abort_transfer(const char* why);
  void maybe_finish_catch_up(node_id to);
  void send_timeout_now(node_id to);

  config cfg_;
  raft_log log_;
  detail::prng rng_;

  // Persistent state (Figure 2), mirrored in hard_state.
  term_t term_ = 0;          ///< currentTerm; only grows
  node_id vote_ = no_node;   ///< votedFor in term_; set at most once per term

  // Volatile state.
  role role_ = role::follower;  ///< changes only in become_*
  node_id leader_ = no_node;    ///< the leader of term_ when known
  int election_elapsed_ = 0;    ///< ticks since reset (leader: since last CheckQuorum round)
  int heartbeat_elapsed_ = 0;   ///< leader: ticks since the last heartbeat broadcast
  int randomized_election_timeout_ = 0;  ///< in [election_ticks, 2*election_ticks)

  // Candidate state: votes received this campaign; reset by become_*.
  std::map<node_id, bool> votes_;

  // Leader state: one progress per voter (ourselves included); reset by become_leader.
  std::map<node_id, progress> progress_;
  node_id transfer_target_ = no_node;  ///< leader: transfer in progress to this node
  int transfer_elapsed_ = 0;           ///< leader: ticks since the transfer started
  bool broadcast_pending_ = false;     ///< leader: new entries not yet sent to followers

  // ReadIndex (§6.4). A round is one heartbeat broadcast that confirms leadership
  // for every request in it; requests arriving meanwhile wait for the next round.
  struct pending_read {
    node_id from = no_node;      ///< who asked (ourselves or a follower)
    std::uint64_t context = 0;
    index_t index = 0;           ///< commit index when the round started
  };
  std::uint64_t read_round_ = 0;             ///< leader: id of the round in flight, 0 when none
  std::vector<pending_read> round_reads_;    ///< leader: requests confirmed by round read_round_
  std::vector<node_id> round_acks_;          ///< leader: voters that acknowledged read_round_
  std::uint64_t read_rounds_started_ = 0;    ///< leader: ids for new rounds; only grows
  std::vector<pending_read> queued_reads_;   ///< leader: waiting for the next round or first commit
  struct forwarded_read {
    std::uint64_t context = 0;
    std::uint64_t sent_tick = 0;  ///< ticks_ when it was forwarded
  };
  /// Follower: reads sent to leader_, oldest first. One unanswered for two
  /// election timeouts is dropped (its message or answer was lost).
  std::deque<forwarded_read> forwarded_reads_;
  std::uint64_t ticks_ = 0;  ///< ticks since this node started; only grows

  // Follower: a snapshot arriving in chunks (§7, Figure 13: offset, data, done).
  // Held in memory until complete; reset when the term or leader changes.
  struct incoming_snapshot {
    node_id from = no_node;
    entry_id last{};
    std::uint64_t size = 0;  ///< total bytes announced; <= config::max_snapshot_bytes
    std::string data;        ///< bytes [0, data.size()) received, in order
  };
  std::optional<incoming_snapshot> incoming_;

  // Output collected for the next ready.
  std::vector<message> msgs_;
  std::vector<message> msgs_after_persist_;
  std::vector<read_state> read_states_;
  std::vector<std::uint64_t> reads_dropped_;
  std::vector<event> events_;
  std::uint64_t events_dropped_ = 0;
  hard_state prev_hard_;       ///< last hard state handed out in a ready
  soft_state prev_soft_;       ///< last soft state handed out in a ready
  std::uint64_t ready_number_ = 0;
  bool ready_outstanding_ = false;  ///< get_ready() was called and advance() not yet
};

template <class F>
void node::emit(event_kind kind, F&& make_text) {
  if (!cfg_.record_events) return;
  if (events_.size() >= cfg_.max_events_per_ready) {
    ++events_dropped_;
    return;
  }
  events_.push_back(event{kind, term_, make_text()});
}

}  // namespace raftkv::core
