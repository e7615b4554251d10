// Bodies for raftkv/server/replica.hpp; compiled once by lib/server.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/server/replica.hpp>
#include <raftkv/storage/snapshot_file.hpp>

#include <stdexcept>
#include <utility>

namespace raftkv::server {

std::unique_ptr<replica> replica::open(const replica_options& opts) {
  if (!opts.raft.validate()) throw std::invalid_argument("invalid Raft configuration");
  if (!opts.kv.validate()) throw std::invalid_argument("invalid state machine configuration");
  storage::disk d = storage::disk::open(opts.data_dir, {opts.cluster_id, opts.raft.id}, opts.disk);
  return std::unique_ptr<replica>(new replica(opts, std::move(d)));
}

replica::replica(const replica_options& opts, storage::disk d)
    : opts_(opts), disk_(std::move(d)), state_(opts.kv) {
  storage::recovered rec = disk_.take_recovered();
  warnings_ = rec.warnings;
  // The newest snapshot's data is read back from its file only when a
  // follower needs it; the state machine holds the same state meanwhile.
  log_.set_snapshot_loader([dir = disk_.path()](core::entry_id id) -> result<std::shared_ptr<const std::string>> {
    try {
      return storage::read_snapshot_file(dir / storage::snapshot_file_name(id)).data;
    } catch (const std::exception&) {
      return make_error_code(errc::snapshot_unreadable);  // gone (pruned) or damaged since
    }
  });
  if (!rec.snap.empty()) {
    log_.apply_snapshot(rec.snap);
    // The snapshot file's CRC-32C covered these bytes a moment ago.
    auto restored = kv::state_machine::restore(*rec.snap.data, opts_.kv, false);
    if (!restored) {
      throw storage::storage_error("snapshot through index " + std::to_string(rec.snap.last.index) +
                                   " in " + disk_.path().string() +
                                   " passed its checksum but is not a valid state machine: " +
                                   restored.error().message());
    }
    if (restored->applied_index() != rec.snap.last.index) {
      throw storage::storage_error("snapshot through index " + std::to_string(rec.snap.last.index) +
                                   " in " + disk_.path().string() + " holds a state machine at index " +
                                   std::to_string(restored->applied_index()));
    }
    state_ = std::move(*restored);
    last_snapshot_bytes_ = rec.snap.data->size();
    log_.release_snapshot_data(rec.snap.last);
  }
  log_.append(rec.entries);
  log_.set_hard_state(rec.hard);
  written_hard_ = rec.hard;
  disk_stats_ = disk_.stats();
  // A snapshot from the leader replaces our log only if our state machine can
  // restore it at its index; otherwise the log stays and the leader is told.
  opts_.raft.accept_snapshot = [kv_cfg = opts_.kv](core::entry_id last, const std::string& data) {
    auto sm = kv::state_machine::restore(data, kv_cfg);
    return sm.has_value() && sm->applied_index() == last.index;
  };
  node_ = std::make_unique<core::node>(opts_.raft, log_);
}

replica::~replica() {
  try {
    disk_.sync();
  } catch (const std::exception&) {
    // Only a commit index can be pending here; it is learned again from the
    // leader (or re-established by an election) after the restart.
  }
}

std::optional<cycle> replica::begin() {
  // A snapshot taken with nothing else to do (snapshot_now() on an idle
  // node) still gets a cycle: its file is written and the log compacted now.
  const bool unsaved = unsaved_snapshot_.has_value() || unsaved_compact_to_ != 0;
  if (in_cycle_ || (!node_->has_ready() && !unsaved)) return std::nullopt;
  cycle c;
  c.rd = node_->get_ready();
  c.job.batch.restored = c.rd.snapshot;
  c.job.batch.hard = c.rd.hard;
  // Moved, not copied: finish() takes them back for the log and the core.
  c.job.batch.entries = std::move(c.rd.entries);
  c.rd.entries.clear();
  // Like etcd's MustSync: a new term or vote, a snapshot or entries must be
  // durable before the messages that promise them; a commit index need not.
  const bool term_or_vote = c.rd.hard && (c.rd.hard->term != written_hard_.term ||
                                          c.rd.hard->vote != written_hard_.vote);
  c.job.batch.sync = term_or_vote || c.rd.snapshot || !c.job.batch.entries.empty();
  if (c.rd.hard) written_hard_ = *c.rd.hard;
  c.job.save = std::exchange(unsaved_snapshot_, std::nullopt);
  c.job.compact_to = std::exchange(unsaved_compact_to_, 0);
  in_cycle_ = true;
  apply_durable(c);
  return c;
}

// Committed entries this node has already made durable (in the stable log)
// are applied now, before the cycle's own write: their outcome does not depend
// on it, and their clients need not wait for one more fsync. The rest (entries
// that arrive in this very Ready, or follow a snapshot it restores) wait for
// finish().
void replica::apply_durable(cycle& c) {
  if (c.rd.snapshot) return;
  for (const core::entry& e : c.rd.committed_entries) {
    // In the stable log with the same term: written and synced by an earlier cycle.
    const auto t = log_.term(e.index);
    if (!t || *t != e.term) break;
    apply_one(e, c.early);
    ++c.applied_early;
  }
}

void replica::apply_one(const core::entry& e, finish_result& out) {
  if (e.type == core::entry_type::noop) {
    state_.apply_noop(e.index);
  } else {
    out.applied.push_back({e.id(), state_.apply(e.index, e.data)});
    applied_bytes_since_snapshot_ += e.data.size();
  }
  ++applied_since_snapshot_;
}

void replica::write(disk_job& job) {
  const bool changes = job.batch.restored || job.batch.hard || !job.batch.entries.empty();
  if (changes) disk_.write(job.batch);
  if (job.save) disk_.save_snapshot(*job.save);
  if (job.compact_to != 0) disk_.compact(job.compact_to);
  job.stats_after = disk_.stats();
}

finish_result replica::finish(cycle& c) {
  RAFTKV_ASSERT(in_cycle_, "finish() follows begin()");
  finish_result out;
  disk_stats_ = c.job.stats_after;
  core::ready& rd = c.rd;
  if (rd.snapshot) {
    log_.apply_snapshot(*rd.snapshot);
    // The core accepted it only after accept_snapshot() restored these very
    // bytes, checksum included.
    auto restored = kv::state_machine::restore(*rd.snapshot->data, opts_.kv, false);
    RAFTKV_ASSERT(restored.has_value() && restored->applied_index() == rd.snapshot->last.index,
                  "a snapshot accepted from the leader restores");
    state_ = std::move(*restored);
    applied_since_snapshot_ = applied_bytes_since_snapshot_ = 0;
    last_snapshot_bytes_ = rd.snapshot->data->size();
    ++stats_.snapshots_restored;
    log_.release_snapshot_data(rd.snapshot->last);  // the disk job wrote its file
  }
  if (c.job.save) {
    log_.release_snapshot_data(c.job.save->last);  // the disk job wrote its file
    c.job.save.reset();
  }
  if (rd.hard) log_.set_hard_state(*rd.hard);
  rd.entries = std::move(c.job.batch.entries);
  c.job.batch.entries.clear();
  log_.append(rd.entries);
  stats_.entries_persisted += rd.entries.size();
  if (c.job.batch.sync && (rd.snapshot || rd.hard || !rd.entries.empty())) ++stats_.syncs;
  // Those begin() applied come first, so `applied` lists the whole Ready.
  out.applied = std::move(c.early.applied);
  c.early.applied.clear();
  for (std::size_t i = c.applied_early; i < rd.committed_entries.size(); ++i) apply_one(rd.committed_entries[i], out);
  node_->advance(rd);
  in_cycle_ = false;
  ++stats_.readies;
  maybe_snapshot(out);
  return out;
}

void replica::maybe_snapshot(finish_result& out) {
  const bool by_count = opts_.snapshot_entries != 0 && applied_since_snapshot_ >= opts_.snapshot_entries;
  const bool by_size = opts_.snapshot_bytes != 0 && applied_bytes_since_snapshot_ >= opts_.snapshot_bytes;
  const bool log_grown = static_cast<double>(applied_bytes_since_snapshot_) >=
                         opts_.snapshot_log_ratio * static_cast<double>(last_snapshot_bytes_);
  if ((by_count || by_size) && log_grown && take_snapshot()) out.snapshot_taken = true;
}

bool replica::snapshot_now() { return take_snapshot(); }

bool replica::take_snapshot() {
  const core::index_t at = state_.applied_index();
  if (at <= log_.latest_snapshot_id().index) return false;
  auto data = std::make_shared<const std::string>(state_.serialize());
  last_snapshot_bytes_ = data->size();
  auto made = log_.create_snapshot(at, data);
  RAFTKV_ASSERT(made.has_value(), "a snapshot at the applied index is the newest");
  const core::snapshot snap{log_.latest_snapshot_id(), std::move(data)};
  const core::index_t compact_to = at > opts_.compact_keep ? at - opts_.compact_keep : 0;
  if (compact_to != 0) log_.compact(compact_to);
  unsaved_snapshot_ = snap;
  unsaved_compact_to_ = compact_to;
  applied_since_snapshot_ = applied_bytes_since_snapshot_ = 0;
  ++stats_.snapshots_taken;
  return true;
}

}  // namespace raftkv::server
