// Unit tests of the data directory (identity, lock), snapshot files (keep 2,
// corruption), restored snapshots, and the sync_thread.
#include <doctest/doctest.h>

#include <storage/support.hpp>

#include <raftkv/storage/disk.hpp>
#include <raftkv/storage/snapshot_file.hpp>
#include <raftkv/storage/writer.hpp>

#include <future>
#include <string>
#include <vector>

namespace {

using namespace raftkv::storage;
using namespace raftkv::storage::test;
using raftkv::core::hard_state;

const identity me{"abc", 1};

std::string open_error(const fs::path& dir, const identity& id) {
  try {
    disk::open(dir, id);
  } catch (const storage_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a data directory refuses another node or cluster") {
  temp_dir t;
  const fs::path dir = t.path() / "data" / "node-1";
  { disk::open(dir, identity{"abc", 2}); }
  CHECK(fs::exists(dir / identity_file_name));
  CHECK(slurp(dir / identity_file_name) == "cluster=abc\nnode=2\n");
  CHECK(open_error(dir, identity{"def", 1}) ==
        "data directory " + dir.string() +
            " belongs to node 2 of cluster \"abc\"; this process is node 1 of cluster \"def\" "
            "(use the right --data-dir or --id)");
  CHECK(open_error(dir, identity{"abc", 1}).find("belongs to node 2") != std::string::npos);
  CHECK(open_error(dir, identity{"abc", 2}).empty());
}

TEST_CASE("a second opener of a data directory is refused while the first holds it") {
  temp_dir t;
  {
    disk first = disk::open(t.path(), me);
    const std::string msg = open_error(t.path(), me);
    CAPTURE(msg);
    CHECK(msg.find("is in use by another process") != std::string::npos);
    CHECK(msg.find(t.path().string()) != std::string::npos);
  }
  CHECK(open_error(t.path(), me).empty());  // released with the first disk
}

TEST_CASE("the newest two snapshot files are kept and stray tmp files removed") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me);
    d.write({.hard = hard_state{1, 1, 40}, .entries = make_entries(1, 1, 40)});
    for (raftkv::core::index_t i = 10; i <= 40; i += 10) d.save_snapshot(make_snapshot(1, i));
    CHECK(d.stats().snapshots_saved == 4);
  }
  spit(t.path() / (snapshot_file_name({1, 50}) + ".tmp"), "half a snapshot");
  const auto files = list_snapshot_files(t.path());
  REQUIRE(files.size() == 2);
  CHECK(files[0].filename() == snapshot_file_name({1, 40}));
  CHECK(files[1].filename() == snapshot_file_name({1, 30}));
  disk d = disk::open(t.path(), me);
  CHECK(files_with_prefix(t.path(), "snap-").size() == 2);
  CHECK(d.recovered_state().snap.last.index == 40);
  CHECK(d.recovered_state().entries.empty());
}

TEST_CASE("a flipped byte in a snapshot file is an error naming the file, never a fall-back") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me);
    d.write({.hard = hard_state{1, 1, 20}, .entries = make_entries(1, 1, 20)});
    d.save_snapshot(make_snapshot(1, 10));
    d.save_snapshot(make_snapshot(1, 20));
  }
  const fs::path snap = t.path() / snapshot_file_name({1, 20});
  const std::string bytes = slurp(snap);
  struct row {
    std::size_t pos;
    std::uint64_t offset;  // the offset the error names
  };
  for (row r : {row{0, 0}, row{9, 40}, row{20, 40}, row{32, 40}, row{44, 44}, row{bytes.size() - 1, 44}}) {
    CAPTURE(r.pos);
    temp_dir c;
    copy_dir(t.path(), c.path());
    std::string flipped = bytes;
    flipped[r.pos] = static_cast<char>(flipped[r.pos] ^ 0x10);
    spit(c.path() / snap.filename(), flipped);
    const std::string msg = open_error(c.path(), me);
    CAPTURE(msg);
    CHECK(msg.find(snap.filename().string()) != std::string::npos);
    CHECK(msg.find("byte offset " + std::to_string(r.offset)) != std::string::npos);
  }
  temp_dir c;
  copy_dir(t.path(), c.path());
  spit(c.path() / snap.filename(), bytes.substr(0, 30));
  CHECK(open_error(c.path(), me).find("short header") != std::string::npos);
}

TEST_CASE("a snapshot from the leader replaces the log and the log restarts after it (§7)") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me);
    d.write({.hard = hard_state{1, 1, 5}, .entries = make_entries(1, 1, 20)});
    d.write({.restored = make_snapshot(3, 50), .hard = hard_state{3, 0, 50}});
    CHECK(d.wal().last_index() == 50);
  }
  {
    disk d = disk::open(t.path(), me);
    const recovered& r = d.recovered_state();
    CHECK(r.snap.last == raftkv::core::entry_id{3, 50});
    CHECK(r.entries.empty());
    CHECK(r.hard == hard_state{3, 0, 50});
    d.write({.hard = hard_state{3, 0, 52}, .entries = make_entries(3, 51, 55)});
  }
  disk d = disk::open(t.path(), me);
  CHECK(d.recovered_state().entries == make_entries(3, 51, 55));
  CHECK(d.recovered_state().hard.commit == 52);
}

TEST_CASE("a restored snapshot file without its wal marker realigns the log after it") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me);
    d.write({.hard = hard_state{1, 1, 5}, .entries = make_entries(1, 1, 20)});
  }
  write_snapshot_file(t.path(), make_snapshot(3, 50));  // the crash came before the marker
  {
    disk d = disk::open(t.path(), me);
    const recovered& r = d.recovered_state();
    CHECK(r.snap.last.index == 50);
    CHECK(r.entries.empty());
    CHECK(r.hard.commit == 50);
    CHECK(r.hard.term == 3);  // the snapshot's term: the hard state record never came
    REQUIRE(r.warnings.size() == 2);
    CHECK(r.warnings[0].find("restarts after it") != std::string::npos);
    CHECK(r.warnings[1].find("term raised from 1 to 3") != std::string::npos);
    d.write({.entries = make_entries(3, 51, 52)});
  }
  disk d = disk::open(t.path(), me);
  CHECK(d.recovered_state().entries == make_entries(3, 51, 52));
  CHECK(d.recovered_state().warnings.empty());
}

TEST_CASE("a log holding a newer term than its hard state raises the term on recovery, with no vote") {
  // What a crash mid-batch can leave: entries of term 5 synced by a segment
  // rollover, the batch's hard state record (term 5) lost.
  temp_dir t;
  {
    disk d = disk::open(t.path(), me);
    d.write({.hard = hard_state{4, 2, 3}, .entries = make_entries(4, 1, 3)});
    d.write({.entries = make_entries(5, 4, 6)});
  }
  {
    disk d = disk::open(t.path(), me);
    const recovered& r = d.recovered_state();
    CHECK(r.entries == [] {
      auto e = make_entries(4, 1, 3);
      for (const auto& x : make_entries(5, 4, 6)) e.push_back(x);
      return e;
    }());
    CHECK(r.hard == hard_state{5, raftkv::core::no_node, 3});
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("term raised from 4 to 5") != std::string::npos);
  }
  disk again = disk::open(t.path(), me);  // the raised term was written down
  CHECK(again.recovered_state().hard == hard_state{5, raftkv::core::no_node, 3});
  CHECK(again.recovered_state().warnings.empty());
  // The same for a restored snapshot whose term is newer than the hard state.
  temp_dir t2;
  {
    disk d2 = disk::open(t2.path(), me);
    d2.write({.hard = hard_state{4, 2, 3}, .entries = make_entries(4, 1, 3)});
    d2.write({.restored = make_snapshot(6, 10)});
  }
  disk d2 = disk::open(t2.path(), me);
  CHECK(d2.recovered_state().hard == hard_state{6, raftkv::core::no_node, 10});
  // A consistent directory is left alone: no warning, the vote kept.
  temp_dir t3;
  {
    disk d3 = disk::open(t3.path(), me);
    d3.write({.hard = hard_state{5, 2, 3}, .entries = make_entries(5, 1, 3)});
  }
  disk d3 = disk::open(t3.path(), me);
  CHECK(d3.recovered_state().hard == hard_state{5, 2, 3});
  CHECK(d3.recovered_state().warnings.empty());
}

TEST_CASE("sync_thread runs jobs in FIFO order") {
  std::vector<int> seen;
  {
    sync_thread w(200);
    for (int i = 0; i < 100; ++i) CHECK(w.try_submit([&seen, i] { seen.push_back(i); }));
  }  // the destructor drains and joins
  REQUIRE(seen.size() == 100);
  for (int i = 0; i < 100; ++i) {
    CAPTURE(i);
    CHECK(seen[static_cast<std::size_t>(i)] == i);
  }
}

TEST_CASE("sync_thread's queue is bounded and the destructor drains it") {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  int ran = 0;
  {
    sync_thread w(3);
    CHECK(w.capacity() == 3);
    CHECK(w.try_submit([&started, released] {
      started.set_value();
      released.wait();
    }));
    started.get_future().wait();  // the blocking job is running, the queue is empty
    for (int i = 0; i < 3; ++i) CHECK(w.try_submit([&ran] { ++ran; }));
    CHECK_FALSE(w.try_submit([&ran] { ran += 100; }));
    release.set_value();
  }
  CHECK(ran == 3);
}
