// raftkv/core/storage.hpp: the stable log as the core sees it (read-only), and an
// in-memory implementation for tests and the simulator.
//
// The core only reads storage. The program around it writes what a Ready batch
// says to persist (entries, hard state), then calls node::advance(). Entries the
// core has not seen persisted yet live in the core's unstable tail (log.hpp).
#pragma once

#include <raftkv/core/types.hpp>
#include <raftkv/error.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace raftkv::core {

/// Read-only view of persisted Raft state.
///
/// Invariant: entries first_index() .. last_index() are present with consecutive
/// indexes; term(first_index() - 1) is known (the snapshot's or 0), and
/// first_index() - 1 <= latest_snapshot_id().index: entries are compacted only
/// behind a snapshot (some may be kept behind it for slow followers).
class storage {
 public:
  virtual ~storage() = default;

  /// The hard state persisted last ({0, no_node, 0} for a new node).
  virtual hard_state initial_hard_state() const = 0;
  /// Index of the first entry still held (1 when nothing was compacted).
  virtual index_t first_index() const = 0;
  /// Index of the last entry held; first_index() - 1 when empty.
  virtual index_t last_index() const = 0;
  /// Term of entry `i`, for first_index() - 1 <= i <= last_index();
  /// errc::compacted below, errc::unavailable above.
  virtual result<term_t> term(index_t i) const = 0;
  /// Entries [lo, hi) up to `max_bytes` (at least one entry when lo < hi).
  virtual result<std::vector<entry>> entries(index_t lo, index_t hi,
                                             std::uint64_t max_bytes) const = 0;
  /// The newest snapshot's last entry ({0, 0} when none was taken or
  /// received). Cheap: it never reads the snapshot's data.
  virtual entry_id latest_snapshot_id() const = 0;
  /// The newest snapshot with its data (empty() when none), which may have to
  /// be read back from disk: only a snapshot transfer to a follower needs it.
  /// errc::snapshot_unreadable when that read fails.
  virtual result<snapshot> latest_snapshot() const = 0;
};

/// Storage held in memory: the simulator's "disk", and the server's view of
/// its WAL. Not thread-safe.
///
/// A snapshot's data is held until release_snapshot_data(): a server that
/// has written it to a file lets it go, since the state machine holds the
/// same state, and latest_snapshot() reads it back through the loader while
/// a transfer needs it (every transfer running at once shares one copy).
class memory_storage final : public storage {
 public:
  /// Reads the data of the snapshot through the given entry back.
  using snapshot_loader = std::function<result<std::shared_ptr<const std::string>>(entry_id)>;

  memory_storage();

  hard_state initial_hard_state() const override { return hard_; }
  index_t first_index() const override;
  index_t last_index() const override;
  result<term_t> term(index_t i) const override;
  result<std::vector<entry>> entries(index_t lo, index_t hi,
                                     std::uint64_t max_bytes) const override;
  entry_id latest_snapshot_id() const override { return snap_.last; }
  result<snapshot> latest_snapshot() const override;

  /// Persists `hs`.
  void set_hard_state(const hard_state& hs) { hard_ = hs; }
  /// Persists `ents` (consecutive). Entries at or after ents.front().index are
  /// replaced: this is how a conflicting suffix leaves the disk (§5.3).
  void append(std::span<const entry> ents);

  /// Records a snapshot of the state machine at applied entry `i`
  /// (first_index() - 1 <= i <= last_index()); entries stay until compact().
  /// errc::compacted when `i` is older than the current snapshot.
  result<void> create_snapshot(index_t i, std::shared_ptr<const std::string> data);
  /// Discards entries up to `i` (i <= the snapshot's index); a no-op for
  /// i < first_index(). Entry `i`'s term stays known.
  void compact(index_t i);
  /// Replaces everything with a snapshot received from the leader (§7): the
  /// log is emptied and restarts after `s.last`.
  void apply_snapshot(const snapshot& s);

  /// Sets where latest_snapshot() reads released data from.
  void set_snapshot_loader(snapshot_loader loader) { loader_ = std::move(loader); }
  /// Lets go of the data of the newest snapshot if it is the one through
  /// `id` (a loader must be set, asserted); a no-op for any other `id`.
  void release_snapshot_data(entry_id id);
  /// Whether the newest snapshot's data is held in memory (tests, status).
  bool holds_snapshot_data() const { return snap_.data != nullptr; }

 private:
  hard_state hard_;
  /// The newest snapshot; its data is null once released (never otherwise).
  snapshot snap_;
  /// The released data while anyone still holds it (a transfer in progress).
  mutable std::weak_ptr<const std::string> released_;
  snapshot_loader loader_;
  /// ents_[0] is a sentinel carrying the index and term before the first held
  /// entry; ents_[k].index == ents_[0].index + k. A deque: compaction frees
  /// the front's memory and growth never copies the whole log (a vector kept
  /// up to twice the peak log's size in capacity).
  std::deque<entry> ents_;
};

}  // namespace raftkv::core
