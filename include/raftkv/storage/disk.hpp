// raftkv/storage/disk.hpp: the storage layer's facade: one data directory
// holding the WAL, snapshot files and the node's identity (bodies in
// storage/impl/disk.ipp).
//
// The Raft core reads a core::memory_storage owned by the program; `disk`
// owns the files and is used from one thread. open() recovers what to load
// into memory_storage: apply_snapshot(snap) when !snap.empty(), append(entries),
// set_hard_state(hard).
#pragma once

#include <raftkv/core/types.hpp>
#include <raftkv/storage/data_dir.hpp>
#include <raftkv/storage/error.hpp>
#include <raftkv/storage/wal.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace raftkv::storage {

/// Tuning of a disk.
struct options {
  wal_options wal{};               ///< WAL segment size and test hooks
  std::size_t snapshots_kept = 2;  ///< snapshot files kept (>= 1)
};

/// The state recovered from a data directory.
struct recovered {
  core::hard_state hard{};   ///< commit <= the last index; raised to snap's index if below it
  core::snapshot snap{};     ///< the newest snapshot file (empty() when none)
  std::vector<core::entry> entries{};  ///< consecutive, starting at snap.last.index + 1
  std::vector<std::string> warnings{}; ///< torn tails cut, cuts finished, ... (one line each)
};

/// What one Ready batch asks to persist.
struct write_batch {
  std::optional<core::snapshot> restored{};  ///< a snapshot from the leader replacing the log
  std::optional<core::hard_state> hard{};    ///< a changed hard state
  std::vector<core::entry> entries{};        ///< entries to append (may replace a suffix)
  /// False when nothing here must be durable before the Ready's messages go
  /// out: only the commit index moved, which may lag after a crash. The
  /// records are written and become durable with the next sync.
  bool sync = true;
};

/// Counters for the benchmark and the status page.
struct disk_stats {
  wal_stats wal{};                       ///< the WAL's counters
  std::uint64_t snapshots_saved = 0;     ///< snapshot files written
  std::uint64_t snapshot_bytes = 0;      ///< their data bytes
};

/// A data directory in use.
class disk {
 public:
  /// Opens (creating if needed) and recovers `dir` for `id`. Throws
  /// storage_error on corruption, identity mismatch, a held lock or IO failure.
  static disk open(const std::filesystem::path& dir, const identity& id, const options& opts = {});

  disk(disk&&) noexcept = default;
  disk& operator=(disk&&) noexcept = default;
  ~disk() = default;

  /// What open() recovered (empty after take_recovered()).
  const recovered& recovered_state() const { return rec_; }
  /// Moves out what open() recovered, so that the snapshot's data and the
  /// entries are not held twice once loaded into memory.
  recovered take_recovered() { return std::exchange(rec_, recovered{}); }
  /// Persists `b` (snapshot file and marker, then entries, then hard state)
  /// with one sync (none when !b.sync). Throws storage_error; after that every call throws.
  void write(const write_batch& b);
  /// Makes everything written so far durable (a clean shutdown calls it).
  void sync();
  /// Saves our own snapshot of applied state (entries stay until compact()).
  void save_snapshot(const core::snapshot& s);
  /// Drops WAL segments holding only entries <= min(i, newest snapshot index).
  void compact(core::index_t i);

  /// Counters.
  disk_stats stats() const;
  /// The directory.
  const std::filesystem::path& path() const { return dir_.path(); }
  /// The WAL (tests inspect its segments).
  const storage::wal& wal() const { return wal_; }

 private:
  disk(data_dir d, storage::wal w, options o) : dir_(std::move(d)), wal_(std::move(w)), opts_(std::move(o)) {}
  void save_file(const core::snapshot& s);
  void check_usable() const;

  data_dir dir_;               ///< locked, identity checked
  storage::wal wal_;           ///< the log
  options opts_;               ///< as given to open()
  recovered rec_{};            ///< filled by open(); emptied by take_recovered()
  core::index_t snapshot_index_ = 0;  ///< index of the newest snapshot file
  std::uint64_t snapshots_saved_ = 0; ///< see disk_stats
  std::uint64_t snapshot_bytes_ = 0;  ///< see disk_stats
  bool broken_ = false;        ///< an IO call failed; every later call throws
};

}  // namespace raftkv::storage
