// raftkv/core/log.hpp: the Raft log as one node sees it.
//
// A read-only storage (what is on disk) plus the unstable part: entries the core
// appended but has not yet seen persisted, and a snapshot received from the
// leader that replaces the whole log once persisted (§7). Tracks the commit and
// apply positions.
//
// Invariants (checked by check()):
//   applied <= applying <= committed <= last_index()
//   unstable_[k].index == unstable_offset_ + k
//   without a pending snapshot: unstable_offset_ <= storage.last_index() + 1
//   with a pending snapshot S: unstable_offset_ == S.last.index + 1 and
//     applying >= committed >= S.last.index; storage is not read at all
#pragma once

#include <raftkv/core/storage.hpp>
#include <raftkv/core/types.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace raftkv::core {

class raft_log {
 public:
  /// Starts from what `s` holds: commit from its hard state, applied at its
  /// snapshot (the state machine is restored from it) or before its first entry.
  explicit raft_log(const storage& s);

  index_t first_index() const;
  index_t last_index() const;
  term_t last_term() const { return term_or_zero(last_index()); }
  entry_id last_id() const { return {last_term(), last_index()}; }
  /// Index of the last entry known to be on stable storage.
  index_t stable_index() const { return unstable_offset_ - 1; }

  /// Term of entry `i` (i == first_index() - 1 included).
  result<term_t> term(index_t i) const;
  /// Term of entry `i`, or 0 when the log does not hold it.
  term_t term_or_zero(index_t i) const;
  bool match_term(index_t i, term_t t) const;

  /// §5.4.1: a log ending at (last_term, last_index) is at least as up to date as ours.
  bool is_up_to_date(index_t last_index, term_t last_term) const;

  /// Follower side of AppendEntries (§5.3). When our entry at `prev_index` has
  /// `prev_term`, appends `ents` (removing a conflicting suffix), moves commit to
  /// min(leader_commit, last new index) and returns the last new index.
  /// Returns nullopt when the consistency check fails.
  std::optional<index_t> maybe_append(index_t prev_index, term_t prev_term, index_t leader_commit,
                                      std::vector<entry> ents, index_t* truncated_from);

  /// Appends `ents` at their indexes, truncating anything at or after the first.
  /// Returns the new last index.
  index_t append(std::vector<entry> ents);

  /// Entries [lo, hi) bounded by bytes and count (at least one when lo < hi).
  result<std::vector<entry>> slice(index_t lo, index_t hi, std::uint64_t max_bytes,
                                   std::size_t max_count) const;

  index_t committed() const { return committed_; }
  index_t applied() const { return applied_; }

  /// Moves commit forward; never backwards.
  void commit_to(index_t i);
  /// Commits `i` when it is beyond commit and holds term `t` (§5.4.2: the leader
  /// only counts replicas of its own term's entries).
  bool maybe_commit(index_t i, term_t t);

  /// Committed entries not yet handed out for applying, up to max_bytes.
  std::vector<entry> next_committed(std::uint64_t max_bytes) const;
  bool has_next_committed() const { return committed_ > applying_; }
  /// Marks entries up to `i` as handed out for applying.
  void applying_to(index_t i);
  /// Marks entries up to `i` as applied by the state machine.
  void applied_to(index_t i);

  /// The unstable tail: entries to persist.
  std::span<const entry> unstable_entries() const { return unstable_; }
  /// Entries up to `id` reached stable storage. Ignored when the tail no longer
  /// holds `id` (it was truncated while being persisted).
  void stable_to(entry_id id);

  /// §7: replaces the whole log with a snapshot from the leader, beyond our
  /// commit index. It stays pending (first in the next Ready) until persisted;
  /// the state machine is restored from it when that Ready is applied.
  void restore(snapshot s);
  /// The snapshot restore() left to persist, if any.
  const std::optional<snapshot>& pending_snapshot() const { return pending_snapshot_; }
  /// The pending snapshot at `i` was persisted and applied: storage holds it now.
  void stable_snapshot_to(index_t i);
  /// The last entry of the pending snapshot, or else of the storage's newest.
  entry_id latest_snapshot_id() const;
  /// The pending snapshot, or else the storage's newest (whose data may have
  /// to be read back: errc::snapshot_unreadable when that fails).
  result<snapshot> latest_snapshot() const;

  /// Asserts the invariants above.
  void check() const;

 private:
  /// First index whose term differs from `ents` (or the first new index);
  /// 0 when every entry is already present.
  index_t find_conflict(std::span<const entry> ents) const;

  const storage* storage_;
  std::optional<snapshot> pending_snapshot_;  ///< set by restore(), cleared once persisted
  std::vector<entry> unstable_;  ///< entries not yet known persisted
  index_t unstable_offset_;      ///< index of unstable_[0] (or of the next entry when empty)
  index_t committed_;            ///< highest index known committed; only grows
  index_t applying_;             ///< highest index handed out in a Ready for applying
  index_t applied_;              ///< highest index the state machine applied
};

}  // namespace raftkv::core
