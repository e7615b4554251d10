// raftkv/storage/wal.hpp: the segmented write-ahead log of entries, hard state
// and snapshot markers (bodies in storage/impl/wal*.ipp).
//
// Files: `wal-<seq 16 hex>-<first index 16 hex>.log` in the data directory.
// Record: u32 length (payload bytes) | u32 crc32c(type byte + payload) |
// u8 type | payload, little-endian. Every segment opens with a header record
// (magic, version, seq, first index, base seq) and the current hard state.
// docs/storage.md describes the format and the recovery rules in full.
//
// Segments form a chain: each header names its `base seq`, the segment it
// continues (0: none, the log restarts here). A conflicting suffix (§5.3) is
// written to a NEW segment whose base is the newest segment keeping an entry
// below the conflict; only after that segment and the directory are durable
// does sync() cut the base at the first superseded record and delete the
// segments in between. Replay treats a later entry with index i as
// superseding every earlier entry >= i, so a crash between the two steps
// recovers the same log, and recovery finishes the cut.
//
// Single-threaded: one writer thread owns the wal.
#pragma once

#include <raftkv/core/types.hpp>
#include <raftkv/storage/detail/file.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace raftkv::storage {

/// Tuning of the WAL.
struct wal_options {
  /// A segment that has grown past this many bytes is closed and a new one
  /// started before the next record (tests use a few KiB).
  std::uint64_t segment_bytes_max = std::uint64_t{64} << 20;
  /// Largest record payload accepted; a larger length field in a file is corruption.
  std::uint32_t record_bytes_max = std::uint32_t{256} << 20;
  /// Reserve each new segment's `segment_bytes_max` bytes up front
  /// (fallocate): an fdatasync into space the file already has need not
  /// commit a size change to the file system's journal (about 40 % less time
  /// per sync on ext4 here, see docs/benchmarks.md). The unused zeros are cut
  /// when the segment is closed; recovery reads zeros after the last record
  /// as unused space, not as a torn record.
  bool preallocate = true;
  /// Test-only: called in sync() after the new segment and the directory are
  /// durable and before superseded records are cut or deleted.
  std::function<void()> test_hook_before_cut{};
};

/// Counters the benchmark and the status page read.
struct wal_stats {
  std::uint64_t syncs = 0;             ///< sync() calls that made something durable
  std::uint64_t fsyncs = 0;            ///< fdatasync/fsync calls (segments and directory)
  std::uint64_t bytes_written = 0;     ///< record bytes written to segments
  std::uint64_t segments_created = 0;  ///< segment files created
  std::uint64_t segments_deleted = 0;  ///< segment files deleted (superseded or compacted)
  std::uint64_t cuts = 0;              ///< physical truncations of superseded tails
};

/// What recovery read from the WAL.
struct wal_contents {
  core::hard_state hard{};       ///< the newest hard state record ({0,0,0} when none)
  core::entry_id marker{};       ///< the live chain's snapshot marker; index 0 when none
  /// Where the log starts: entries.front().index, or the index the next entry
  /// gets when `entries` is empty.
  core::index_t first_index = 1;
  std::vector<core::entry> entries{};  ///< live entries, consecutive
  std::vector<std::string> warnings{}; ///< torn tails cut, interrupted cuts finished, ...
  std::size_t segments_found = 0;      ///< segment files present before recovery
};

/// One segment of the live chain.
struct wal_segment {
  std::uint64_t seq = 0;        ///< creation order; unique, never reused
  core::index_t first = 0;      ///< index of the first entry written to it (header and name)
  std::uint64_t base_seq = 0;   ///< the segment it continues; 0 when the log restarts here
  core::index_t first_live = 0; ///< live entries are [first_live, last_live]; 0, 0 when none
  core::index_t last_live = 0;
  std::filesystem::path path{}; ///< the file
};

/// The write-ahead log of one data directory.
class wal {
 public:
  /// Recovers the WAL in `dir` into `out` (cutting a torn tail of the newest
  /// segment, finishing interrupted cuts, deleting superseded segments) and
  /// starts a new segment for appends. Throws storage_error on corruption.
  static wal open(const std::filesystem::path& dir, const wal_options& opts, wal_contents& out);

  wal(wal&&) noexcept = default;
  wal& operator=(wal&&) noexcept = default;
  /// Cuts the open segment's unused preallocated space (best effort).
  ~wal();

  /// Writes `ents` (consecutive). If ents.front().index <= last_index() the
  /// entries from there on are replaced (§5.3): see the file comment.
  void append(std::span<const core::entry> ents);
  /// Writes `hs`.
  void set_hard_state(const core::hard_state& hs);
  /// A snapshot from the leader replaced the whole log: starts a segment at
  /// id.index + 1 with a marker; every older segment goes after the next sync().
  void mark_snapshot(core::entry_id id);
  /// Makes everything written so far durable with one fdatasync (plus a
  /// directory fsync after a segment was created), then performs pending cuts
  /// and deletions. Throws storage_error; after that every call throws.
  void sync();
  /// Hands buffered records to the OS without syncing: they survive a killed
  /// process, not a power cut, until the next sync(). Throws storage_error.
  void write_out();
  /// Deletes the oldest segments whose live entries are all <= `i` (never the
  /// newest). Syncs first when something is pending.
  void compact(core::index_t i);

  /// The last live entry's index (or the marker's index, or first - 1).
  core::index_t last_index() const { return last_index_; }
  /// The hard state written last.
  const core::hard_state& hard_state() const { return hard_; }
  /// Counters.
  const wal_stats& stats() const { return stats_; }
  /// The live chain, oldest first; back() receives appends.
  const std::vector<wal_segment>& segments() const { return segments_; }

 private:
  struct pending_cut {
    std::filesystem::path path;  ///< segment to cut
    core::index_t from = 0;      ///< first superseded entry index
  };

  wal(std::filesystem::path dir, wal_options opts);
  void open_segment(core::index_t first, std::uint64_t base_seq, core::entry_id marker);
  void write_record(std::uint8_t type, std::string_view payload, bool may_roll_over);
  void write_entry(const core::entry& e);
  void begin_replacement(core::index_t from);
  void flush();
  void apply_pending();
  void check_usable() const;

  std::filesystem::path dir_;        ///< the data directory
  wal_options opts_;                 ///< as given to open()
  /// The live chain, ascending seq; back() is the open segment. Updated by
  /// open_segment, begin_replacement, mark_snapshot and compact.
  std::vector<wal_segment> segments_;
  detail::file current_;             ///< open on segments_.back().path
  std::uint64_t current_bytes_ = 0;  ///< size of the open segment including buf_
  std::uint64_t opening_bytes_ = 0;  ///< bytes of its header and first hard state
  std::string buf_;                  ///< encoded records not yet written to current_
  std::uint64_t next_seq_ = 1;       ///< > every seq ever seen in the directory
  core::index_t last_index_ = 0;     ///< see last_index()
  core::hard_state hard_{};          ///< see hard_state()
  bool dirty_ = false;               ///< current_ (or buf_) holds bytes not yet synced
  bool preallocated_ = false;        ///< current_ was preallocated: its size is not current_bytes_
  bool dir_dirty_ = false;           ///< a segment was created since the last sync
  std::vector<pending_cut> pending_cuts_;             ///< cuts to do after the next sync
  std::vector<std::filesystem::path> pending_deletes_;///< deletions after the next sync
  bool broken_ = false;              ///< an IO call failed; the wal refuses all work
  wal_stats stats_{};                ///< counters
};

}  // namespace raftkv::storage
