// server::replica: the Ready cycle over a real data directory. Recovery after
// a restart, group commit (one sync per batch), compaction and its files.
#include "storage/support.hpp"

#include <raftkv/kv/command.hpp>
#include <raftkv/server/replica.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

using namespace raftkv;
using raftkv::storage::test::temp_dir;

server::replica_options single_node(const std::filesystem::path& dir) {
  server::replica_options o;
  o.raft.id = 1;
  o.raft.voters = {1};
  o.data_dir = dir;
  o.cluster_id = "replica-test";
  o.disk.wal.segment_bytes_max = 4096;
  return o;
}

std::string put(std::uint64_t seq, const std::string& key, const std::string& value) {
  return kv::encode(kv::command{.client_id = 7, .seq = seq, .op = kv::op_kind::put, .key = key, .value = value});
}

/// Runs cycles inline (write on this thread) until the replica is idle.
std::vector<server::applied_command> settle(server::replica& r) {
  std::vector<server::applied_command> all;
  while (auto c = r.begin()) {
    r.write(c->job);
    auto out = r.finish(*c);
    all.insert(all.end(), out.applied.begin(), out.applied.end());
  }
  return all;
}

void become_leader(server::replica& r) {
  REQUIRE(r.raft().campaign().has_value());
  settle(r);
  REQUIRE(r.raft().state() == core::role::leader);
  settle(r);
}

}  // namespace

TEST_CASE("replica: what was applied survives a restart") {
  temp_dir dir;
  const auto opts = single_node(dir.path());
  core::index_t commit = 0;
  {
    auto r = server::replica::open(opts);
    become_leader(*r);
    for (std::uint64_t i = 1; i <= 50; ++i) {
      REQUIRE(r->raft().propose(put(i, "k" + std::to_string(i), "v" + std::to_string(i))).has_value());
    }
    const auto applied = settle(*r);
    REQUIRE(applied.size() == 50);
    for (const auto& a : applied) CHECK(a.result.status == kv::apply_status::ok);
    commit = r->raft().log().committed();
    CHECK(r->state().size() == 50);
  }
  auto r = server::replica::open(opts);
  CHECK(r->recovery_warnings().empty());
  CHECK(r->raft().term() >= 1);
  CHECK(r->raft().log().committed() == commit);
  settle(*r);  // the committed entries are applied again from the WAL
  CHECK(r->state().size() == 50);
  const auto k17 = r->state().get("k17");
  REQUIRE(k17.has_value());
  CHECK(k17->value == "v17");
  CHECK(r->state().revision() == 50);
  CHECK(r->state().applied_index() == commit);
}

TEST_CASE("replica: proposals made while a write runs share the next sync") {
  temp_dir dir;
  auto r = server::replica::open(single_node(dir.path()));
  become_leader(*r);
  REQUIRE(r->raft().propose(put(1, "a", "1")).has_value());
  auto c = r->begin();
  REQUIRE(c.has_value());
  CHECK(c->job.batch.entries.size() == 1);
  // While the disk thread would be busy with this batch, 100 more proposals arrive.
  for (std::uint64_t i = 2; i <= 101; ++i) REQUIRE(r->raft().propose(put(i, "a", "x")).has_value());
  const auto syncs_before = r->disk_stats().wal.syncs;
  r->write(c->job);
  CHECK(c->job.stats_after.wal.syncs == syncs_before + 1);
  r->finish(*c);
  auto next = r->begin();
  REQUIRE(next.has_value());
  CHECK(next->job.batch.entries.size() == 100);  // one batch, one sync
  r->write(next->job);
  CHECK(next->job.stats_after.wal.syncs == syncs_before + 2);
  r->finish(*next);
  // The batch that only moves the commit index is written but costs no sync.
  auto commit_only = r->begin();
  REQUIRE(commit_only.has_value());
  REQUIRE(commit_only->rd.hard.has_value());
  CHECK(commit_only->job.batch.entries.empty());
  CHECK_FALSE(commit_only->job.batch.sync);
  r->write(commit_only->job);
  CHECK(commit_only->job.stats_after.wal.syncs == syncs_before + 2);
  r->finish(*commit_only);
  CHECK(r->disk_stats().wal.syncs == syncs_before + 2);  // published by finish()
  settle(*r);
  const auto a = r->state().get("a");
  REQUIRE(a.has_value());
  CHECK(a->value == "x");
}

TEST_CASE("replica: snapshots compact the log and the WAL, and recovery starts from them") {
  temp_dir dir;
  auto opts = single_node(dir.path());
  opts.snapshot_entries = 20;
  opts.compact_keep = 5;
  {
    auto r = server::replica::open(opts);
    become_leader(*r);
    for (std::uint64_t i = 1; i <= 200; ++i) {
      REQUIRE(r->raft().propose(put(i, "k" + std::to_string(i % 30), std::string(40, 'x'))).has_value());
      settle(*r);
    }
    CHECK(r->stats().snapshots_taken >= 9);
    const auto st = r->raft().status();
    CHECK(st.snapshot_index >= 180);
    CHECK(st.first_index == st.snapshot_index - 5 + 1);  // five entries kept behind it
    const auto ds = r->disk_stats();
    CHECK(ds.snapshots_saved >= 9);
    CHECK(ds.wal.segments_deleted > 0);
  }
  std::size_t snap_files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    snap_files += f.path().extension() == ".snap";
  }
  CHECK(snap_files == 2);  // the newest two are kept
  auto r = server::replica::open(opts);
  const auto st = r->raft().status();
  CHECK(st.snapshot_index >= 180);
  CHECK(r->state().applied_index() == st.snapshot_index);  // restored, not replayed
  settle(*r);
  CHECK(r->state().size() == 30);
  CHECK(r->state().applied_index() == r->raft().log().committed());
}

TEST_CASE("replica: a snapshot written to its file is not also held in memory; a transfer reads it back") {
  temp_dir dir;
  auto opts = single_node(dir.path());
  opts.snapshot_entries = 0;  // only snapshot_now()
  {
    auto r = server::replica::open(opts);
    become_leader(*r);
    for (std::uint64_t i = 1; i <= 50; ++i) {
      REQUIRE(r->raft().propose(put(i, "k" + std::to_string(i), std::string(40, 'x'))).has_value());
      settle(*r);
    }
    REQUIRE(r->snapshot_now());
    CHECK(r->stable_log().holds_snapshot_data());  // taken, its file not written yet
    settle(*r);  // an empty cycle carries the save
    CHECK(r->disk_stats().snapshots_saved == 1);
    CHECK_FALSE(r->stable_log().holds_snapshot_data());
    const auto back = r->stable_log().latest_snapshot();
    REQUIRE(back.has_value());
    CHECK(back->last == r->stable_log().latest_snapshot_id());
    CHECK(*back->data == r->state().serialize());  // nothing applied since
  }
  auto r = server::replica::open(opts);
  CHECK(r->state().size() == 50);
  CHECK_FALSE(r->stable_log().holds_snapshot_data());  // restored from the file, then let go
  // The file gone (a pruning race, a deleted file): the read fails with an error, no crash.
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().extension() == ".snap") std::filesystem::remove(f.path());
  }
  const auto gone = r->stable_log().latest_snapshot();
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error() == errc::snapshot_unreadable);
}

TEST_CASE("replica: a data directory of another node or cluster is refused") {
  temp_dir dir;
  { auto r = server::replica::open(single_node(dir.path())); }
  auto other = single_node(dir.path());
  SUBCASE("another node id") {
    other.raft.id = 2;
    other.raft.voters = {2};
  }
  SUBCASE("another cluster") { other.cluster_id = "elsewhere"; }
  CHECK_THROWS_AS(server::replica::open(other), storage::storage_error);
}

TEST_CASE("replica: committed entries already durable are applied by begin(), before the cycle's write") {
  temp_dir dir;
  auto r = server::replica::open(single_node(dir.path()));
  become_leader(*r);
  REQUIRE(r->raft().propose(put(1, "a", "1")).has_value());
  auto first = r->begin();
  REQUIRE(first.has_value());
  CHECK(first->early.applied.empty());  // not durable yet: nothing to apply before the write
  r->write(first->job);
  r->finish(*first);
  // Entry "a" is durable and (one voter) committed; a new proposal shares the next Ready.
  REQUIRE(r->raft().propose(put(2, "b", "2")).has_value());
  auto next = r->begin();
  REQUIRE(next.has_value());
  CHECK(next->job.batch.entries.size() == 1);       // "b" still has to be written
  REQUIRE(next->early.applied.size() == 1);          // "a" is applied already
  CHECK(next->applied_early == next->rd.committed_entries.size());
  CHECK(r->state().get("a").has_value());            // visible before the write
  CHECK_FALSE(r->state().get("b").has_value());
  r->write(next->job);
  const auto out = r->finish(*next);
  REQUIRE(out.applied.size() == 1);                  // finish() lists what begin() applied
  CHECK(out.applied.front().id.index == next->rd.committed_entries.front().index);
  settle(*r);
  CHECK(r->state().get("b").has_value());
}

TEST_CASE("replica: a large store is not snapshotted again until the log has grown by a share of it") {
  temp_dir dir;
  auto opts = single_node(dir.path());
  opts.snapshot_entries = 10;
  opts.compact_keep = 5;
  opts.snapshot_log_ratio = 1.0;  // the commands since the last snapshot must be as large as it
  auto r = server::replica::open(opts);
  become_leader(*r);
  // 100 keys with 200-byte values: the first snapshot holds about 20 KB.
  for (std::uint64_t i = 1; i <= 100; ++i) {
    REQUIRE(r->raft().propose(put(i, "k" + std::to_string(i), std::string(200, 'x'))).has_value());
    settle(*r);
  }
  const auto taken = r->stats().snapshots_taken;
  REQUIRE(taken >= 1);
  // 30 small writes (far more than snapshot_entries, far fewer bytes than the snapshot): none.
  for (std::uint64_t i = 101; i <= 130; ++i) {
    REQUIRE(r->raft().propose(put(i, "k1", "s")).has_value());
    settle(*r);
  }
  CHECK(r->stats().snapshots_taken == taken);
  // Large writes until their bytes pass the snapshot's size: one more.
  for (std::uint64_t i = 131; i <= 260 && r->stats().snapshots_taken == taken; ++i) {
    REQUIRE(r->raft().propose(put(i, "k2", std::string(400, 'y'))).has_value());
    settle(*r);
  }
  CHECK(r->stats().snapshots_taken == taken + 1);
}
