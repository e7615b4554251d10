// raftkv/core/event.hpp: the reasons behind the core's decisions.
//
// Every decision a learner should see (a vote refused, an append rejected, the
// commit index moving) is emitted as an event: a kind to filter on and a sentence
// that names the cause. Events are built only when config::record_events is on.
#pragma once

#include <raftkv/core/types.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace raftkv::core {

enum class event_kind : std::uint8_t {
  election_timeout,    ///< the election timer fired
  pre_vote_started,    ///< became pre-candidate and asked for pre-votes
  election_started,    ///< became candidate in a new term
  vote_granted,        ///< we granted a (pre-)vote
  vote_refused,        ///< we refused a (pre-)vote, with the reason
  vote_ignored,        ///< a vote request ignored: we heard from a leader recently
  votes_counted,       ///< a (pre-)election was won or lost
  became_follower,
  became_leader,
  term_changed,        ///< our term moved because of a message
  stepped_down,        ///< a leader lost its quorum (CheckQuorum)
  append_rejected,     ///< (follower) an append failed the consistency check
  append_conflict,     ///< (leader) a follower rejected; next index backs off
  log_truncated,       ///< a conflicting suffix was removed (§5.3)
  commit_advanced,     ///< the commit index moved
  proposal_refused,    ///< a proposal was refused, with the leader hint
  read_index,          ///< a ReadIndex request or round changed state
  transfer,            ///< leadership transfer started, sent, finished or aborted
  message_ignored,     ///< a message from a stale term or unknown sender was ignored
  snapshot,            ///< a snapshot is being sent, was received, restored or refused (§7)
};

/// "election_timeout", "vote_refused", ...
std::string_view to_string(event_kind k) noexcept;

/// One decision and its cause.
struct event {
  event_kind kind = event_kind::message_ignored;
  term_t term = 0;   ///< our term when it happened
  std::string text;  ///< a full sentence, e.g. "vote refused to 2: its last log (term 3, index 7) is behind ours (term 4, index 2)"
};

}  // namespace raftkv::core
