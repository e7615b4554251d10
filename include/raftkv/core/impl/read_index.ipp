// Bodies for raftkv/core/node.hpp: linearizable reads through ReadIndex (§6.4).
//
// The leader records its commit index, confirms with a heartbeat round that a
// majority still follows it, then releases the read at that index. Reads
// queue until the next Ready is collected (or the round in flight completes),
// then start one round together; one round is in flight at a time, so a burst
// of reads costs one heartbeat round, not one each. A new leader first
// waits for an entry of its own term to commit (§6.4 step 1, thesis §6.4).
// Compiled once by lib/core.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/node.hpp>

#include <algorithm>

namespace raftkv::core {

using detail::cat;

result<void> node::read_index(std::uint64_t context) {
  if (role_ == role::leader) return handle_read_index(cfg_.id, context);
  if (leader_ == no_node) return make_error_code(errc::no_leader);
  if (forwarded_reads_.size() >= cfg_.max_pending_reads) return make_error_code(errc::read_queue_full);
  forwarded_reads_.push_back({context, ticks_});
  send({.type = message_type::read_index, .to = leader_, .context = context});
  return {};
}

result<void> node::handle_read_index(node_id from, std::uint64_t context) {
  if (queued_reads_.size() + round_reads_.size() >= cfg_.max_pending_reads) {
    emit(event_kind::read_index, [&] {
      return cat("read from ", from, " refused: ", cfg_.max_pending_reads, " reads already wait");
    });
    if (from == cfg_.id) return make_error_code(errc::read_queue_full);
    send({.type = message_type::read_index_resp, .to = from, .reject = true, .context = context});
    return {};
  }
  queued_reads_.push_back({from, context, 0});
  if (log_.term_or_zero(log_.committed()) != term_) {
    emit(event_kind::read_index, [&] {
      return cat("read from ", from, " waits: no entry of term ", term_,
                 " has committed yet, so our commit index may be behind (§6.4)");
    });
    return {};
  }
  // The round starts when the next Ready is collected, so every read that
  // arrives before then shares it.
  return {};
}

void node::start_read_round() {
  if (queued_reads_.empty()) return;
  read_round_ = ++read_rounds_started_;
  round_reads_ = std::move(queued_reads_);
  queued_reads_.clear();
  for (pending_read& r : round_reads_) r.index = log_.committed();
  round_acks_.assign(1, cfg_.id);
  emit(event_kind::read_index, [&] {
    return cat("read round ", read_round_, ": confirming leadership for ", round_reads_.size(),
               " read(s) at index ", log_.committed());
  });
  if (round_acks_.size() >= quorum()) {
    complete_read_round();
    return;
  }
  broadcast_heartbeat();
}

void node::ack_read_round(node_id from, std::uint64_t round) {
  if (read_round_ == 0 || round < read_round_) return;  // an answer to a finished round
  if (std::find(round_acks_.begin(), round_acks_.end(), from) != round_acks_.end()) return;
  round_acks_.push_back(from);
  if (round_acks_.size() >= quorum()) complete_read_round();
}

void node::complete_read_round() {
  for (const pending_read& r : round_reads_) {
    if (r.from == cfg_.id) {
      read_states_.push_back({r.index, r.context});
    } else {
      send({.type = message_type::read_index_resp, .to = r.from, .index = r.index, .context = r.context});
    }
  }
  emit(event_kind::read_index, [&] {
    return cat("read round ", read_round_, " confirmed by a majority: ", round_reads_.size(),
               " read(s) may be served once index ", round_reads_.front().index, " is applied");
  });
  read_round_ = 0;
  round_reads_.clear();
  round_acks_.clear();
  start_read_round();  // reads that arrived meanwhile
}

bool node::can_start_read_round() const {
  return read_round_ == 0 && !queued_reads_.empty() &&
         log_.term_or_zero(log_.committed()) == term_;
}

void node::release_reads_waiting_for_commit() {
  if (can_start_read_round()) start_read_round();
}

void node::handle_read_index_response(const message& m) {
  auto it = std::find_if(forwarded_reads_.begin(), forwarded_reads_.end(),
                         [&](const forwarded_read& r) { return r.context == m.context; });
  if (it == forwarded_reads_.end()) return;  // dropped already
  forwarded_reads_.erase(it);
  if (m.reject) {
    reads_dropped_.push_back(m.context);
  } else {
    read_states_.push_back({m.index, m.context});
  }
}

// Reads that cannot complete any more (we stopped leading, or changed term or
// leader) are reported, so callers never wait forever. Reads forwarded to us by
// followers are forgotten: those followers drop them at their own next change.
void node::drop_all_reads() {
  const auto drop_own = [&](const std::vector<pending_read>& reads) {
    for (const pending_read& r : reads) {
      if (r.from == cfg_.id) reads_dropped_.push_back(r.context);
    }
  };
  drop_own(round_reads_);
  drop_own(queued_reads_);
  for (const forwarded_read& r : forwarded_reads_) reads_dropped_.push_back(r.context);
  read_round_ = 0;
  round_reads_.clear();
  round_acks_.clear();
  queued_reads_.clear();
  forwarded_reads_.clear();
}

void node::expire_forwarded_reads() {
  const std::uint64_t limit = 2 * static_cast<std::uint64_t>(cfg_.election_ticks);
  while (!forwarded_reads_.empty() && ticks_ - forwarded_reads_.front().sent_tick >= limit) {
    const std::uint64_t context = forwarded_reads_.front().context;
    emit(event_kind::read_index, [&] {
      return cat("read ", context, " dropped: leader ", leader_, " did not answer within ", limit,
                 " ticks");
    });
    reads_dropped_.push_back(context);
    forwarded_reads_.pop_front();
  }
}

}  // namespace raftkv::core
