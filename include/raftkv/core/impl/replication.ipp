// Bodies for raftkv/core/node.hpp: log replication (§5.3), commitment (§5.4.2)
// and proposals. Compiled once by lib/core.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/node.hpp>

#include <algorithm>

namespace raftkv::core {

using detail::cat;

result<entry_id> node::propose(std::string command) {
  if (role_ != role::leader) {
    emit(event_kind::proposal_refused, [&] {
      return leader_ == no_node ? cat("proposal refused: we are ", to_string(role_), " and know no leader")
                                : cat("proposal refused: we are ", to_string(role_),
                                      "; the leader is ", leader_);
    });
    return make_error_code(leader_ == no_node ? errc::no_leader : errc::not_leader);
  }
  if (transfer_target_ != no_node) {
    emit(event_kind::proposal_refused, [&] {
      return cat("proposal refused: leadership is being transferred to ", transfer_target_);
    });
    return make_error_code(errc::transfer_in_progress);
  }
  if (log_.last_index() - log_.committed() >= cfg_.max_uncommitted_entries) {
    emit(event_kind::proposal_refused, [&] {
      return cat("proposal refused: ", log_.last_index() - log_.committed(),
                 " entries are already waiting to commit");
    });
    return make_error_code(errc::proposal_dropped);
  }
  append_own({entry{.data = std::move(command)}});
  return log_.last_id();
}

void node::append_own(std::vector<entry> ents) {
  index_t next = log_.last_index() + 1;
  for (entry& e : ents) {
    e.term = term_;
    e.index = next++;
  }
  log_.append(std::move(ents));
  broadcast_pending_ = true;  // sent with the next ready, so proposals batch
}

bool node::maybe_send_append(node_id to, bool send_if_empty) {
  progress& pr = progress_.at(to);
  if (pr.is_paused()) return false;
  auto prev_term = log_.term(pr.next - 1);
  auto ents = log_.slice(pr.next, log_.last_index() + 1, cfg_.max_append_bytes,
                         cfg_.max_append_entries);
  if (!prev_term || !ents) {
    // next <= last index + 1 always, so only compaction can make entries missing.
    RAFTKV_ASSERT((prev_term ? ents.error() : prev_term.error()) == errc::compacted,
                  "entries for a follower are in the log unless compacted");
    return start_snapshot(to);
  }
  if (ents->empty() && !send_if_empty) return false;
  message m{.type = message_type::append_entries,
            .to = to,
            .log_term = *prev_term,
            .index = pr.next - 1,
            .commit = log_.committed(),
            .entries = std::move(*ents)};
  if (pr.state == progress_state::replicate) {
    if (!m.entries.empty()) {
      pr.optimistic_update(m.entries.back().index);
      pr.inflight.add(m.entries.back().index);
    }
  } else {
    pr.probe_sent = true;  // one probe at a time until it is answered
  }
  send(std::move(m));
  return true;
}

void node::broadcast_append() {
  broadcast_pending_ = false;
  for (node_id to : cfg_.voters) {
    if (to != cfg_.id) maybe_send_append(to, true);
  }
}

void node::send_heartbeat(node_id to, std::uint64_t read_round) {
  // Never tell a follower to commit past what it is known to hold.
  const index_t commit = std::min(progress_.at(to).match, log_.committed());
  send({.type = message_type::heartbeat, .to = to, .commit = commit, .context = read_round});
}

void node::broadcast_heartbeat() {
  for (auto& [to, pr] : progress_) {
    if (to == cfg_.id) continue;
    if (pr.state == progress_state::snapshot) ++pr.snapshot_idle_heartbeats;
    send_heartbeat(to, read_round_);
  }
}

// Figure 2, AppendEntries receiver.
void node::handle_append(message& m) {
  if (m.index < log_.committed()) {
    // Everything up to our commit index matches the leader already.
    send({.type = message_type::append_entries_resp, .to = m.from, .index = log_.committed()});
    return;
  }
  for (const entry& e : m.entries) {
    if (e.index > log_.committed()) break;
    if (!log_.match_term(e.index, e.term)) {
      // A correct leader never contradicts a committed entry (Leader Completeness).
      emit(event_kind::message_ignored, [&] {
        return cat("ignored append from ", m.from, ": it would overwrite committed entry ", e.index);
      });
      return;
    }
  }
  const index_t commit_before = log_.committed();
  index_t truncated_from = 0;
  const std::size_t count = m.entries.size();
  auto last_new = log_.maybe_append(m.index, m.log_term, m.commit, std::move(m.entries), &truncated_from);
  if (last_new) {
    if (truncated_from != 0) {
      emit(event_kind::log_truncated, [&] {
        return cat("removed our entries from index ", truncated_from,
                   " on: they conflict with leader ", m.from, "'s log (§5.3)");
      });
    }
    if (log_.committed() > commit_before) {
      emit(event_kind::commit_advanced, [&] {
        return cat("commit advanced to ", log_.committed(), ": leader ", m.from,
                   " has committed up to ", m.commit);
      });
    }
    send({.type = message_type::append_entries_resp, .to = m.from, .index = *last_new});
    return;
  }
  // Consistency check failed: hint where our logs may diverge, so the leader can
  // skip a whole term per round trip instead of one entry (§5.3, end).
  term_t conflict_term = 0;
  index_t hint = log_.last_index() + 1;
  if (m.index <= log_.last_index()) {
    conflict_term = log_.term_or_zero(m.index);
    hint = m.index;
    while (hint > 1 && hint - 1 > log_.committed() && hint - 1 >= log_.first_index() &&
           log_.term_or_zero(hint - 1) == conflict_term) {
      --hint;
    }
  }
  emit(event_kind::append_rejected, [&] {
    const std::string why =
        conflict_term == 0
            ? cat("no entry at index ", m.index, " (our log ends at ", log_.last_index(), ")")
            : cat("our entry at index ", m.index, " has term ", conflict_term, ", not ", m.log_term);
    return cat("append of ", count, " entries from ", m.from, " rejected: ", why,
               " (conflict hint term ", conflict_term, " from index ", hint, ")");
  });
  send({.type = message_type::append_entries_resp,
        .to = m.from,
        .log_term = conflict_term,
        .index = m.index,
        .reject = true,
        .reject_hint = hint});
}

void node::handle_heartbeat(const message& m) {
  // A correct leader sends at most what we hold; never trust more.
  const index_t commit_before = log_.committed();
  log_.commit_to(std::min(m.commit, log_.last_index()));
  if (log_.committed() > commit_before) {
    emit(event_kind::commit_advanced, [&] {
      return cat("commit advanced to ", log_.committed(), ": heartbeat from leader ", m.from);
    });
  }
  send({.type = message_type::heartbeat_resp, .to = m.from, .context = m.context});
}

index_t node::leader_next_from_hint(const message& m) const {
  if (m.log_term == 0) return m.reject_hint;  // the follower's log is shorter
  // Skip to just past our last entry of the conflicting term, if we have it:
  // entries of that term up to there are the same on both sides (Log Matching).
  for (index_t i = std::min(m.index, log_.last_index()); i > 0; --i) {
    auto t = log_.term(i);
    if (!t || *t < m.log_term) break;
    if (*t == m.log_term) return i + 1;
  }
  return m.reject_hint;
}

void node::handle_append_response(const message& m) {
  progress& pr = progress_.at(m.from);
  pr.heard_from();
  if (m.index > log_.last_index()) {
    // Acknowledges or refuses entries we never had: not from a correct follower.
    emit(event_kind::message_ignored, [&] {
      return cat("ignored append response from ", m.from, ": index ", m.index,
                 " is beyond our log (", log_.last_index(), ")");
    });
    return;
  }
  if (m.reject) {
    const index_t old_next = pr.next;
    const index_t candidate = std::min(leader_next_from_hint(m), log_.last_index() + 1);
    if (pr.maybe_decrease_to(m.index, candidate)) {
      emit(event_kind::append_conflict, [&] {
        return cat(m.from, " rejected our append after index ", m.index, " (conflict term ",
                   m.log_term, " from index ", m.reject_hint, "); next index for ", m.from, ": ",
                   old_next, " -> ", pr.next);
      });
      maybe_send_append(m.from, true);
    }
    return;
  }
  const bool was_paused = pr.is_paused();
  if (!pr.maybe_update(m.index)) return;  // an old or duplicate acknowledgement
  if (pr.state == progress_state::probe) {
    pr.become_replicate();
  } else if (pr.state == progress_state::snapshot) {
    if (pr.match < pr.sending_snapshot.last.index && pr.match + 1 < log_.first_index()) return;
    emit(event_kind::snapshot, [&] {
      return cat(m.from, " holds our log through index ", pr.match,
                 " now; snapshot transfer over, replicating entries from ", pr.match + 1);
    });
    pr.become_replicate();
  } else {
    pr.inflight.free_to(m.index);
  }
  if (maybe_commit()) {
    broadcast_append();
  } else if (was_paused) {
    // It was skipped by an earlier commit broadcast while paused: tell it now.
    maybe_send_append(m.from, true);
  }
  while (maybe_send_append(m.from, false)) {
  }
  maybe_finish_catch_up(m.from);
}

void node::handle_heartbeat_response(const message& m) {
  progress& pr = progress_.at(m.from);
  pr.heard_from();
  pr.probe_sent = false;  // it is alive: a lost probe may be retried
  if (pr.state == progress_state::replicate && pr.inflight.full()) pr.inflight.free_first();
  // It lacks entries: send an append even if `next` says all were sent. Those
  // may have been lost (it restarted, or the network dropped them), and only an
  // append's consistency check makes it tell us where its log really ends.
  if (pr.match < log_.last_index()) maybe_send_append(m.from, true);
  resend_stalled_snapshot(m.from);
  if (m.context != 0) ack_read_round(m.from, m.context);
}

// §5.3/§5.4.2: the highest index stored on a majority commits, but only by
// counting replicas of an entry of the leader's own term (Figure 8).
bool node::maybe_commit() {
  std::vector<index_t> matches;
  matches.reserve(progress_.size());
  for (const auto& [id, pr] : progress_) matches.push_back(pr.match);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const index_t majority_index = matches[quorum() - 1];
  if (!log_.maybe_commit(majority_index, term_)) return false;
  emit(event_kind::commit_advanced, [&] {
    std::string on;
    for (const auto& [id, pr] : progress_) {
      if (pr.match >= majority_index) on += cat(on.empty() ? "" : ", ", id);
    }
    return cat("commit advanced to ", majority_index, ": stored on ", on);
  });
  release_reads_waiting_for_commit();
  return true;
}

}  // namespace raftkv::core
