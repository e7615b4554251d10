// Bodies for raftkv/storage/disk.hpp; compiled once by lib/storage.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/storage/disk.hpp>
#include <raftkv/storage/snapshot_file.hpp>

#include <algorithm>

namespace raftkv::storage {

namespace {

/// Checks the WAL against the newest snapshot and builds the recovered state.
/// Sets `realign` when the WAL must be restarted after the snapshot (a
/// restored snapshot whose marker did not reach the disk).
recovered reconcile(const std::filesystem::path& dir, core::snapshot snap, wal_contents w, bool& realign) {
  const core::index_t s = snap.last.index;
  const std::string where = "data directory " + dir.string() + ": ";
  if (!snap.empty() && w.segments_found == 0)
    throw storage_error(where + "snapshot " + snapshot_file_name(snap.last) + " but no wal segment");
  if (w.marker.index > s)
    throw storage_error(where + "wal marks a snapshot at index " + std::to_string(w.marker.index) +
                        " but the newest snapshot file covers index " + std::to_string(s));
  if (w.first_index > s + 1)
    throw storage_error(where + "wal starts at index " + std::to_string(w.first_index) +
                        " but the newest snapshot covers index " + std::to_string(s) +
                        ": entries in between are missing (a lost wal segment?)");
  recovered r;
  r.warnings = std::move(w.warnings);
  const core::index_t wal_last = w.entries.empty() ? w.first_index - 1 : w.entries.back().index;
  realign = false;
  if (!snap.empty()) {
    // Entry s, when the wal still holds it, must be the snapshot's last entry;
    // a wal ending before s never saw the restored snapshot's marker.
    auto at_s = std::find_if(w.entries.begin(), w.entries.end(), [&](const auto& e) { return e.index == s; });
    if (wal_last < s || (at_s != w.entries.end() && at_s->term != snap.last.term)) {
      realign = true;
      r.warnings.push_back(where + "wal does not continue snapshot " + snapshot_file_name(snap.last) +
                           "; the log restarts after it");
    }
  }
  if (!realign)
    for (core::entry& e : w.entries)
      if (e.index > s) r.entries.push_back(std::move(e));
  const core::index_t last = r.entries.empty() ? s : r.entries.back().index;
  r.hard = w.hard;
  if (r.hard.commit > last)
    throw storage_error(where + "hard state commit " + std::to_string(r.hard.commit) +
                        " is past the last entry " + std::to_string(last));
  r.hard.commit = std::max(r.hard.commit, s);
  // A batch cut short by a crash can leave entries or a restored snapshot of
  // a new term on disk without the hard state record that follows them (a
  // segment rolling over, or the snapshot file, is synced first). None of it
  // was acknowledged: the batch's sync never returned. The log holds that
  // term, so the node's term rises to it, as on any message of a newer term
  // (§5.1), with no vote: a vote in it would have been made durable first.
  core::term_t newest = snap.last.term;
  for (const core::entry& e : r.entries) newest = std::max(newest, e.term);
  if (newest > r.hard.term) {
    r.warnings.push_back(where + "term raised from " + std::to_string(r.hard.term) + " to " +
                         std::to_string(newest) + ", the newest in the log (a write was interrupted)");
    r.hard.term = newest;
    r.hard.vote = core::no_node;
  }
  r.snap = std::move(snap);
  return r;
}

}  // namespace

disk disk::open(const std::filesystem::path& dir, const identity& id, const options& opts) {
  RAFTKV_ASSERT(opts.snapshots_kept >= 1, "at least one snapshot file is kept");
  data_dir d = data_dir::open(dir, id);
  prune_snapshot_files(dir, opts.snapshots_kept);
  core::snapshot snap = load_newest_snapshot(dir);
  wal_contents contents;
  storage::wal w = storage::wal::open(dir, opts.wal, contents);
  bool realign = false;
  recovered rec = reconcile(dir, std::move(snap), std::move(contents), realign);
  disk out(std::move(d), std::move(w), opts);
  if (realign) out.wal_.mark_snapshot(rec.snap.last);
  if (realign || !(rec.hard == out.wal_.hard_state())) {
    // What reconcile() settled (a raised term or commit) is written down, so
    // the next recovery starts from it and warns no more.
    out.wal_.set_hard_state(rec.hard);
    out.wal_.sync();
  }
  out.snapshot_index_ = rec.snap.last.index;
  out.rec_ = std::move(rec);
  return out;
}

void disk::check_usable() const {
  if (broken_)
    throw storage_error("data directory " + dir_.path().string() +
                        " is unusable after an earlier IO failure; the process must restart");
}

void disk::save_file(const core::snapshot& s) {
  RAFTKV_ASSERT(!s.empty() && s.data != nullptr, "saving an empty snapshot");
  write_snapshot_file(dir_.path(), s);
  prune_snapshot_files(dir_.path(), opts_.snapshots_kept);
  snapshot_index_ = std::max(snapshot_index_, s.last.index);
  ++snapshots_saved_;
  snapshot_bytes_ += s.size_bytes();
}

void disk::write(const write_batch& b) {
  check_usable();
  try {
    if (b.restored) {
      save_file(*b.restored);
      wal_.mark_snapshot(b.restored->last);
    }
    wal_.append(b.entries);
    if (b.hard) wal_.set_hard_state(*b.hard);
    if (b.sync || b.restored || !b.entries.empty()) {
      wal_.sync();
    } else {
      wal_.write_out();
    }
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void disk::sync() {
  check_usable();
  try {
    wal_.sync();
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void disk::save_snapshot(const core::snapshot& s) {
  check_usable();
  try {
    save_file(s);
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void disk::compact(core::index_t i) {
  check_usable();
  try {
    wal_.compact(std::min(i, snapshot_index_));
  } catch (...) {
    broken_ = true;
    throw;
  }
}

disk_stats disk::stats() const { return {wal_.stats(), snapshots_saved_, snapshot_bytes_}; }

}  // namespace raftkv::storage
