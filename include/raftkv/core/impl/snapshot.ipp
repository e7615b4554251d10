// Bodies for raftkv/core/node.hpp: InstallSnapshot (§7, Figure 13). A leader
// whose log no longer holds the entries a follower needs sends its snapshot in
// chunks of config::snapshot_chunk_bytes, one at a time; the follower collects
// them in memory, then replaces its log with the snapshot. Compiled once by
// lib/core.cpp.
//
// One chunk is in flight at a time, and only the answer to that chunk sends
// the next: duplicated or stale answers send nothing, so a duplicate can never
// start a second stream. Lost chunks and answers are repaired by a resend
// after two quiet heartbeats, from where the follower last said it was.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/node.hpp>

#include <algorithm>
#include <memory>

namespace raftkv::core {

using detail::cat;

// Leader: the follower needs entries before our first index.
bool node::start_snapshot(node_id to) {
  progress& pr = progress_.at(to);
  const entry_id id = log_.latest_snapshot_id();
  RAFTKV_ASSERT(id.index != 0 && id.index + 1 >= log_.first_index(),
                "entries are compacted only behind a snapshot");
  if (id.index <= pr.snapshot_refused) return false;  // wait for a newer snapshot
  auto loaded = log_.latest_snapshot();
  if (!loaded) {
    // Its file could not be read back: offering it again would only fail
    // again, so this follower waits for the next snapshot, like one it refused.
    pr.snapshot_refused = id.index;
    emit(event_kind::snapshot, [&] {
      return cat(to, " needs entries from index ", pr.next, " but our log starts at ",
                 log_.first_index(), ", and our snapshot through index ", id.index,
                 " cannot be read back (", loaded.error().message(), "): waiting for the next snapshot");
    });
    return false;
  }
  snapshot snap = std::move(*loaded);
  emit(event_kind::snapshot, [&] {
    return cat(to, " needs entries from index ", pr.next, " but our log starts at ",
               log_.first_index(), ": sending our snapshot through index ", snap.last.index,
               " (term ", snap.last.term, ", ", snap.size_bytes(), " bytes) instead (§7)");
  });
  pr.become_snapshot(std::move(snap));
  send_snapshot_chunk(to, 0);
  return true;
}

void node::send_snapshot_chunk(node_id to, std::uint64_t offset) {
  progress& pr = progress_.at(to);
  const snapshot& snap = pr.sending_snapshot;
  const std::uint64_t n = std::min(cfg_.snapshot_chunk_bytes, snap.size_bytes() - offset);
  pr.snapshot_idle_heartbeats = 0;
  pr.snapshot_sent = offset + n;
  send({.type = message_type::install_snapshot,
        .to = to,
        .log_term = snap.last.term,
        .index = snap.last.index,
        .context = offset,
        .snapshot_size = snap.size_bytes(),
        .chunk = snap.data->substr(offset, n)});
}

// Leader, on a heartbeat response: a chunk or its acknowledgement was lost if
// nothing moved for two heartbeats; the follower is alive, so send it again.
void node::resend_stalled_snapshot(node_id to) {
  progress& pr = progress_.at(to);
  if (pr.state != progress_state::snapshot || pr.snapshot_idle_heartbeats < 2) return;
  send_snapshot_chunk(to, pr.snapshot_acked);
}

// Follower: one chunk of the leader's snapshot.
void node::handle_snapshot(const message& m) {
  const entry_id last{m.log_term, m.index};
  if (m.index <= log_.committed()) {
    // We hold (or applied) everything it covers: tell the leader where we are.
    incoming_.reset();
    send({.type = message_type::append_entries_resp, .to = m.from, .index = log_.committed()});
    return;
  }
  if (log_.match_term(m.index, m.log_term)) {
    // §7: our log already holds its last entry, so it is ours up to there;
    // keep the entries after it and learn the commit instead of transferring.
    incoming_.reset();
    log_.commit_to(m.index);
    emit(event_kind::commit_advanced, [&] {
      return cat("commit advanced to ", m.index, ": leader ", m.from,
                 " offered a snapshot through an entry we already hold");
    });
    send({.type = message_type::append_entries_resp, .to = m.from, .index = m.index});
    return;
  }
  if (m.snapshot_size > cfg_.max_snapshot_bytes) {
    emit(event_kind::snapshot, [&] {
      return cat("refused snapshot from ", m.from, ": ", m.snapshot_size,
                 " bytes is more than our limit of ", cfg_.max_snapshot_bytes);
    });
    answer_snapshot(m, 0, true);
    return;
  }
  const bool same = incoming_ && incoming_->from == m.from && incoming_->last == last &&
                    incoming_->size == m.snapshot_size;
  if (!same) {
    incoming_.reset();
    if (m.context != 0) {
      answer_snapshot(m, 0, false);  // we hold none of it: start again from byte 0
      return;
    }
    incoming_ = incoming_snapshot{m.from, last, m.snapshot_size, {}};
    emit(event_kind::snapshot, [&] {
      return cat("receiving a snapshot through index ", m.index, " (term ", m.log_term, ", ",
                 m.snapshot_size, " bytes) from leader ", m.from, ": our log lacks entries it compacted");
    });
  }
  if (m.context != incoming_->data.size()) {
    answer_snapshot(m, incoming_->data.size(), false);  // a duplicate or out of order
    return;
  }
  incoming_->data += m.chunk;
  if (incoming_->data.size() < incoming_->size) {
    answer_snapshot(m, incoming_->data.size(), false);
    return;
  }
  finish_snapshot(m);
}

void node::finish_snapshot(const message& m) {
  const index_t commit_before = log_.committed();
  auto data = std::make_shared<const std::string>(std::move(incoming_->data));
  incoming_.reset();
  if (cfg_.accept_snapshot && !cfg_.accept_snapshot({m.log_term, m.index}, *data)) {
    emit(event_kind::snapshot, [&] {
      return cat("refused the snapshot through index ", m.index, " from leader ", m.from,
                 ": the state machine cannot restore it; keeping our log");
    });
    answer_snapshot(m, 0, true);
    return;
  }
  log_.restore(snapshot{{m.log_term, m.index}, std::move(data)});
  emit(event_kind::snapshot, [&] {
    return cat("restored the snapshot through index ", m.index, " (term ", m.log_term,
               ") from leader ", m.from, ": our log now starts after it and commit moved ",
               commit_before, " -> ", m.index);
  });
  // Sent once the snapshot is durable, like any append acknowledgement.
  send({.type = message_type::append_entries_resp, .to = m.from, .index = m.index});
}

void node::answer_snapshot(const message& m, std::uint64_t have, bool give_up) {
  send({.type = message_type::install_snapshot_resp,
        .to = m.from,
        .log_term = m.log_term,
        .index = m.index,
        .reject = give_up,
        .context = have});
}

// Leader: a follower acknowledged chunks (or gave the snapshot up).
void node::handle_snapshot_response(const message& m) {
  progress& pr = progress_.at(m.from);
  pr.heard_from();
  if (pr.state != progress_state::snapshot || pr.sending_snapshot.last.index != m.index ||
      pr.sending_snapshot.last.term != m.log_term || m.context > pr.sending_snapshot.size_bytes()) {
    return;  // about a transfer that is over, or not ours
  }
  if (m.reject) {
    emit(event_kind::snapshot, [&] {
      return cat(m.from, " refused our snapshot through index ", m.index,
                 "; not offering it again until we have a newer one");
    });
    pr.snapshot_refused = m.index;
    pr.become_probe();
    return;
  }
  pr.snapshot_acked = m.context;  // where a resend starts, should this answer be the last
  if (m.context != pr.snapshot_sent) return;  // not the answer to the chunk in flight
  pr.snapshot_idle_heartbeats = 0;
  if (m.context < pr.sending_snapshot.size_bytes()) send_snapshot_chunk(m.from, m.context);
  // Otherwise it has every byte; its append acknowledgement ends snapshot state.
}

}  // namespace raftkv::core
