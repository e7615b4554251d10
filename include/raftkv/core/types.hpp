// raftkv/core/types.hpp: the vocabulary of the Raft core (paper Figure 2).
//
// Plain values only: positions in the log, entries, the persistent and volatile
// state the paper names, and the messages nodes exchange. Pure: standard library only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace raftkv::core {

using term_t = std::uint64_t;   ///< an election term; 0 means "before any term"
using index_t = std::uint64_t;  ///< a log position; the first entry has index 1
using node_id = std::uint64_t;  ///< a cluster member; 0 means "none"

inline constexpr node_id no_node = 0;

/// A position in the log: Log Matching (§5.3) says two logs that hold the same
/// entry_id hold identical prefixes up to it.
struct entry_id {
  term_t term = 0;
  index_t index = 0;
  friend bool operator==(const entry_id&, const entry_id&) = default;
};

enum class entry_type : std::uint8_t {
  normal = 0,  ///< a client command for the state machine
  noop = 1,    ///< appended by a new leader to commit its term's first entry (§5.4.2, §8)
};

/// One log entry. `data` is opaque to the core.
struct entry {
  term_t term = 0;
  index_t index = 0;
  entry_type type = entry_type::normal;
  std::string data{};

  entry_id id() const { return {term, index}; }
  /// Size charged against the byte limits of messages and Ready batches.
  std::uint64_t size_bytes() const { return data.size() + 24; }
  friend bool operator==(const entry&, const entry&) = default;
};

/// State that must be on stable storage before the node answers an RPC (Figure 2,
/// "Persistent state on all servers"), plus the commit index so that a restart
/// does not re-apply from scratch more than needed.
struct hard_state {
  term_t term = 0;      ///< currentTerm
  node_id vote = no_node;  ///< votedFor in `term`, or no_node
  index_t commit = 0;   ///< highest index known committed (may lag after a crash)
  friend bool operator==(const hard_state&, const hard_state&) = default;
};

/// The state machine after applying every entry up to `last` (§7: "last
/// included index" and "last included term"). The bytes are the state
/// machine's own serialisation; the core never looks inside. Shared, so that
/// sending it in chunks to several followers copies nothing.
struct snapshot {
  entry_id last{};                             ///< last included entry; index 0 means "no snapshot"
  std::shared_ptr<const std::string> data{};   ///< never null when last.index != 0

  bool empty() const { return last.index == 0; }
  std::uint64_t size_bytes() const { return data ? data->size() : 0; }
};

enum class role : std::uint8_t { follower, pre_candidate, candidate, leader };

/// "follower", "pre_candidate", "candidate" or "leader".
std::string_view to_string(role r) noexcept;

/// Volatile state worth showing and reacting to (the TUI's header, redirects).
struct soft_state {
  node_id leader = no_node;
  role state = role::follower;
  friend bool operator==(const soft_state&, const soft_state&) = default;
};

enum class message_type : std::uint8_t {
  request_vote,           ///< §5.2 RequestVote RPC
  request_vote_resp,
  request_pre_vote,       ///< thesis §9.6: "would you vote for me?" without a term change
  request_pre_vote_resp,
  append_entries,         ///< §5.3 AppendEntries RPC carrying entries (maybe none)
  append_entries_resp,
  heartbeat,              ///< AppendEntries with no entries and no consistency check
  heartbeat_resp,
  read_index,             ///< a follower forwards a ReadIndex request (§6.4)
  read_index_resp,
  timeout_now,            ///< thesis §3.10: the leadership transfer target starts an election
  install_snapshot,       ///< §7 InstallSnapshot RPC: one chunk of the leader's snapshot
  install_snapshot_resp,  ///< acknowledges a chunk with the bytes received so far
};

/// "request_vote", "append_entries", ...
std::string_view to_string(message_type t) noexcept;

/// `message::context` of a request_vote sent because of timeout_now: voters do
/// not ignore it even if they heard from a leader recently (thesis §3.10, §4.2.3).
inline constexpr std::uint64_t vote_context_transfer = 1;

/// One RPC or RPC response. The meaning of the numeric fields depends on `type`:
///
/// | type                 | index               | log_term            | reject_hint      |
/// |----------------------|---------------------|---------------------|------------------|
/// | append_entries       | prevLogIndex        | prevLogTerm         |                  |
/// | append_entries_resp  | last matching index (accept) / rejected prevLogIndex | conflict term (reject) | first index of the conflict term (reject) |
/// | request_(pre_)vote   | lastLogIndex        | lastLogTerm         |                  |
/// | read_index(_resp)    | read index (resp)   |                     |                  |
/// | install_snapshot(_resp) | lastIncludedIndex | lastIncludedTerm    |                  |
///
/// `context` carries the ReadIndex round (heartbeat/heartbeat_resp), the caller's
/// request context (read_index/read_index_resp), vote_context_transfer, or a
/// snapshot byte offset: where `chunk` starts (install_snapshot) or how many
/// bytes the follower holds, i.e. the offset it wants next (install_snapshot_resp;
/// `reject` set when it gave the transfer up).
struct message {
  message_type type = message_type::heartbeat;
  node_id from = no_node;
  node_id to = no_node;
  term_t term = 0;
  term_t log_term = 0;
  index_t index = 0;
  index_t commit = 0;
  std::vector<entry> entries{};
  bool reject = false;
  index_t reject_hint = 0;
  std::uint64_t context = 0;
  std::uint64_t snapshot_size = 0;  ///< install_snapshot: total bytes of the snapshot
  std::string chunk{};              ///< install_snapshot: bytes [context, context + chunk.size())
  friend bool operator==(const message&, const message&) = default;
};

/// A ReadIndex request that is ready: once the state machine has applied
/// `index`, a read issued with `context` may be served linearizably (§6.4).
struct read_state {
  index_t index = 0;
  std::uint64_t context = 0;
  friend bool operator==(const read_state&, const read_state&) = default;
};

}  // namespace raftkv::core
