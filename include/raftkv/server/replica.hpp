// raftkv/server/replica.hpp: one durable replica of the KV store: the Raft
// core, its in-memory log, the state machine and the data directory, driven
// one Ready at a time (bodies in server/impl/replica.ipp).
//
// The Ready cycle is split around the disk write, so that the write and its
// fsync can run on a dedicated thread (storage::sync_thread) while the caller
// keeps stepping messages and ticking:
//
//   auto c = rep.begin();          // caller's thread: takes the Ready, applies
//   send(c->rd.messages);          //   what was durable already (c->early)
//   rep.write(c->job);             // disk thread: one write batch, ONE fsync
//   auto out = rep.finish(*c);     // caller's thread: log, state machine, advance
//   send(c->rd.messages_after_persist);
//
// Entries reach the core's storage (and the core hears they are durable) only
// in finish(), after write() returned; that is what lets acknowledgements
// and the leader's own vote count wait for the fsync. Proposals that arrive
// while a write runs pile up in the core's unstable log and go to disk
// together in the next batch (group commit).
//
// Compaction: after applying, once `snapshot_entries` entries (or
// `snapshot_bytes` bytes of commands) were applied since the last snapshot,
// and those commands amount to `snapshot_log_ratio` of the last snapshot's
// size, finish() serialises the state machine, compacts the in-memory log behind it
// (keeping `compact_keep` entries for followers slightly behind) and puts the
// snapshot file and the WAL compaction into the next disk job.
#pragma once

#include <raftkv/core/node.hpp>
#include <raftkv/core/storage.hpp>
#include <raftkv/kv/state_machine.hpp>
#include <raftkv/storage/disk.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace raftkv::server {

/// Everything that parameterises a replica.
struct replica_options {
  core::config raft{};                 ///< id, voters, timers, bounds
  std::filesystem::path data_dir{};    ///< the node's data directory (created if missing)
  std::string cluster_id{};            ///< recorded in the data directory; a mismatch refuses to start
  storage::options disk{};             ///< WAL segment size, snapshots kept
  kv::config kv{};                     ///< session table bound and session expiry (log entries)
  std::uint64_t snapshot_entries = 10000;          ///< applied entries between snapshots (0: never by count)
  std::uint64_t snapshot_bytes = 64ull << 20;      ///< applied command bytes between snapshots (0: never by size)
  std::uint64_t compact_keep = 1000;               ///< log entries kept behind a snapshot
  /// Either trigger above waits, in addition, until the command bytes applied
  /// since the last snapshot reach this fraction of that snapshot's size
  /// (thesis §5.1): a store of a million keys is not serialised again every
  /// `snapshot_entries` writes, so snapshots cost a fixed share of each write
  /// whatever the store's size. 0: the triggers alone decide.
  double snapshot_log_ratio = 0.25;
};

/// What a Ready asks the disk to do, run by replica::write().
struct disk_job {
  storage::write_batch batch{};              ///< the Ready's snapshot, entries and hard state
  std::optional<core::snapshot> save{};      ///< our own snapshot to write as a file
  core::index_t compact_to = 0;              ///< WAL segments behind this may go (0: none)
  storage::disk_stats stats_after{};         ///< filled by write() for finish() to publish
};

/// An applied command and its outcome, for answering the client that proposed it.
struct applied_command {
  core::entry_id id{};
  kv::apply_result result{};
};

/// What finish() did.
struct finish_result {
  std::vector<applied_command> applied{};  ///< commands applied, in log order
  bool snapshot_taken = false;             ///< a snapshot was taken (written by the next job)
};

/// One Ready in progress. Its entries travel in job.batch while the disk
/// writes them (rd.entries is empty until finish() moves them back).
struct cycle {
  core::ready rd{};
  disk_job job{};
  /// Applied by begin(): the Ready's committed entries that were durable here
  /// already. Their clients may be answered before the disk job runs;
  /// finish() repeats them at the front of its own `applied`.
  finish_result early{};
  std::size_t applied_early = 0;  ///< how many of rd.committed_entries that is
};

/// Counters for the status page and the benchmark.
struct replica_stats {
  std::uint64_t readies = 0;           ///< Readies finished
  std::uint64_t entries_persisted = 0; ///< entries written through write()
  std::uint64_t syncs = 0;             ///< disk jobs that had to sync
  std::uint64_t snapshots_taken = 0;   ///< our own snapshots
  std::uint64_t snapshots_restored = 0;///< snapshots received from a leader
};

class replica {
 public:
  /// Opens the data directory, recovers (newest snapshot, then the WAL),
  /// restores the state machine and starts the core. Throws
  /// storage::storage_error (corruption, identity mismatch, lock, IO) and
  /// std::invalid_argument (a config that does not validate).
  static std::unique_ptr<replica> open(const replica_options& opts);

  replica(const replica&) = delete;
  replica& operator=(const replica&) = delete;
  /// A clean shutdown: syncs what was written without a sync (a commit
  /// index). No write() may be running.
  ~replica();

  /// The Raft core: feed it tick(), step(), propose(), read_index() between cycles.
  core::node& raft() { return *node_; }
  const core::node& raft() const { return *node_; }
  /// The log as persisted by the last finish() (the core's unstable tail not included).
  const core::memory_storage& stable_log() const { return log_; }
  /// The state machine, as of the last begin() or finish() (begin() applies
  /// what was durable already).
  const kv::state_machine& state() const { return state_; }
  /// Warnings from recovery (a torn tail cut off, with file and offset).
  const std::vector<std::string>& recovery_warnings() const { return warnings_; }
  const replica_stats& stats() const { return stats_; }
  /// The disk's counters as of the last finish() (or open()).
  const storage::disk_stats& disk_stats() const { return disk_stats_; }

  /// Takes the next Ready when no cycle is open and the core has one or a
  /// snapshot taken since the last cycle waits for its file (the Ready may
  /// then be empty).
  std::optional<cycle> begin();
  /// Persists a cycle's job: ONE sync for the whole batch. Runs on the disk
  /// thread, or on the caller's when the job syncs nothing (job.batch.sync
  /// false, nothing to save or compact: a commit index record, written
  /// without a sync and never rolling a WAL segment over). Never two at once.
  /// Throws storage::storage_error; the process must then stop (a failed
  /// fsync cannot be retried).
  void write(disk_job& job);
  /// Completes a cycle once write() returned: updates the in-memory log,
  /// restores the state machine or applies what begin() did not, advances
  /// the core, and maybe takes a snapshot.
  finish_result finish(cycle& c);
  /// True between begin() and finish().
  bool in_cycle() const { return in_cycle_; }
  /// Takes a snapshot at the applied index now (the file is written by the
  /// next disk job). False when nothing was applied since the last one.
  bool snapshot_now();

 private:
  replica(const replica_options& opts, storage::disk d);
  void maybe_snapshot(finish_result& out);
  void apply_durable(cycle& c);
  void apply_one(const core::entry& e, finish_result& out);
  bool take_snapshot();

  replica_options opts_;
  storage::disk disk_;                   ///< touched only by write() (one at a time) and open()
  core::memory_storage log_;             ///< what the core reads; mirrors the WAL after each finish()
  kv::state_machine state_;              ///< applied through log_.latest... applied index
  std::unique_ptr<core::node> node_;     ///< reads log_
  std::vector<std::string> warnings_;
  std::optional<core::snapshot> unsaved_snapshot_;  ///< taken, not yet handed to a disk job
  core::index_t unsaved_compact_to_ = 0;            ///< WAL compaction for the next disk job
  std::uint64_t applied_since_snapshot_ = 0;        ///< entries applied since the last snapshot
  std::uint64_t applied_bytes_since_snapshot_ = 0;  ///< command bytes applied since then
  std::uint64_t last_snapshot_bytes_ = 0;           ///< size of the newest snapshot (ours or the leader's)
  core::hard_state written_hard_;  ///< the hard state last handed to a disk job
  storage::disk_stats disk_stats_; ///< copied from the last job in finish(); the disk thread never touches it
  bool in_cycle_ = false;
  replica_stats stats_;
};

}  // namespace raftkv::server
