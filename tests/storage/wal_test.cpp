// Unit tests of the WAL through the disk facade: CRC-32C, round trips,
// conflicting-suffix replacement (also with a crash between its two steps),
// rollover and compaction, torn tails and bit flips on copies of real files.
#include <doctest/doctest.h>

#include <storage/support.hpp>

#include <raftkv/storage/crc32c.hpp>
#include <raftkv/storage/detail/wal_format.hpp>
#include <raftkv/storage/disk.hpp>

#include <string>
#include <vector>

namespace {

using namespace raftkv::storage;
using namespace raftkv::storage::test;
using raftkv::core::entry;
using raftkv::core::hard_state;

const identity me{"test-cluster", 1};

options small_segments(std::uint64_t bytes = 2048) {
  options o;
  o.wal.segment_bytes_max = bytes;
  return o;
}

/// Whether any WAL segment in `dir` still contains `needle`.
bool wal_contains(const fs::path& dir, const std::string& needle) {
  for (const auto& p : files_with_prefix(dir, "wal-"))
    if (slurp(p).find(needle) != std::string::npos) return true;
  return false;
}

std::string message_of(const fs::path& dir, const options& o = {}) {
  try {
    disk::open(dir, me, o);
  } catch (const storage_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("crc32c matches the standard check value") {
  CHECK(crc32c(std::string_view("123456789")) == 0xE3069283u);
  CHECK(crc32c(std::string_view("")) == 0u);
}

TEST_CASE("entries and hard state survive a reopen") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me);
    CHECK(d.recovered_state().entries.empty());
    d.write({.hard = hard_state{1, 1, 0}, .entries = make_entries(1, 1, 10)});
    d.write({.hard = hard_state{2, 3, 7}, .entries = make_entries(2, 11, 12)});
    CHECK(d.stats().wal.syncs >= 2);
  }
  disk d = disk::open(t.path(), me);
  const recovered& r = d.recovered_state();
  CHECK(r.hard == hard_state{2, 3, 7});
  std::vector<entry> want = make_entries(1, 1, 10);
  for (auto& e : make_entries(2, 11, 12)) want.push_back(e);
  CHECK(r.entries == want);
  CHECK(r.snap.empty());
  CHECK(r.warnings.empty());
}

TEST_CASE("a conflicting suffix is physically cut from the files (§5.3)") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me, small_segments());
    d.write({.hard = hard_state{1, 1, 5}, .entries = make_entries(1, 1, 40)});
    CHECK(d.wal().segments().size() > 2);
    CHECK(wal_contains(t.path(), entry_data(1, 12)));
    d.write({.hard = hard_state{2, 2, 5}, .entries = make_entries(2, 12, 15)});
    CHECK(d.stats().wal.cuts == 1);
  }
  for (raftkv::core::index_t i = 12; i <= 40; ++i) {
    CAPTURE(i);
    CHECK_FALSE(wal_contains(t.path(), entry_data(1, i)));
  }
  disk d = disk::open(t.path(), me, small_segments());
  std::vector<entry> want = make_entries(1, 1, 11);
  for (auto& e : make_entries(2, 12, 15)) want.push_back(e);
  CHECK(d.recovered_state().entries == want);
  CHECK(d.recovered_state().hard == hard_state{2, 2, 5});
}

TEST_CASE("a crash between writing the replacement and cutting the old tail recovers the new log") {
  temp_dir t;
  temp_dir crashed;
  const fs::path copy = crashed.path() / "copy";
  options o = small_segments();
  {
    disk d = disk::open(t.path(), me, o);
    d.write({.hard = hard_state{1, 1, 5}, .entries = make_entries(1, 1, 40)});
  }
  o.wal.test_hook_before_cut = [&] { copy_dir(t.path(), copy); };
  {
    disk d = disk::open(t.path(), me, o);
    d.write({.hard = hard_state{2, 2, 5}, .entries = make_entries(2, 23, 25)});  // mid-segment
  }
  REQUIRE(fs::exists(copy));
  CHECK(wal_contains(copy, entry_data(1, 30)));  // the stale tail is still there at the crash
  options plain = small_segments();
  disk d = disk::open(copy, me, plain);
  std::vector<entry> want = make_entries(1, 1, 22);
  for (auto& e : make_entries(2, 23, 25)) want.push_back(e);
  CHECK(d.recovered_state().entries == want);
  CHECK(d.recovered_state().hard == hard_state{2, 2, 5});
  bool finished = false;
  for (const auto& w : d.recovered_state().warnings) finished |= w.find("interrupted cut") != std::string::npos;
  CHECK(finished);
  for (raftkv::core::index_t i = 23; i <= 40; ++i) {
    CAPTURE(i);
    CHECK_FALSE(wal_contains(copy, entry_data(1, i)));
  }
}

TEST_CASE("segments roll over and compaction deletes those behind the snapshot") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me, small_segments(1024));
    for (raftkv::core::index_t i = 1; i <= 100; i += 10)
      d.write({.hard = hard_state{1, 1, i + 9}, .entries = make_entries(1, i, i + 9)});
    const std::size_t before = files_with_prefix(t.path(), "wal-").size();
    CHECK(before > 5);
    d.save_snapshot(make_snapshot(1, 60));
    d.compact(60);
    const std::size_t after = files_with_prefix(t.path(), "wal-").size();
    CAPTURE(before);
    CAPTURE(after);
    CHECK(after < before);
    for (const auto& s : d.wal().segments()) CHECK((s.last_live == 0 || s.last_live > 60 || &s == &d.wal().segments().back()));
    CHECK_FALSE(wal_contains(t.path(), entry_data(1, 10)));
  }
  disk d = disk::open(t.path(), me, small_segments(1024));
  const recovered& r = d.recovered_state();
  CHECK(r.snap.last.index == 60);
  CHECK(*r.snap.data == snapshot_data({1, 60}));
  CHECK(r.entries == make_entries(1, 61, 100));
  CHECK(r.hard.commit == 100);
}

TEST_CASE("a lost middle segment is an error, never a hole") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me, small_segments(1024));
    for (raftkv::core::index_t i = 1; i <= 60; i += 10)
      d.write({.hard = hard_state{1, 1, 1}, .entries = make_entries(1, i, i + 9)});
  }
  const auto segs = files_with_prefix(t.path(), "wal-");
  REQUIRE(segs.size() > 3);
  fs::remove(segs[1]);
  const std::string msg = message_of(t.path(), small_segments(1024));
  CAPTURE(msg);
  CHECK(msg.find("missing") != std::string::npos);
}

TEST_CASE("a torn tail of the newest segment is cut with a warning at every byte offset") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me);
    d.write({.hard = hard_state{1, 1, 3}, .entries = make_entries(1, 1, 5)});
    d.write({.entries = make_entries(1, 6, 6)});
  }
  const fs::path newest = files_with_prefix(t.path(), "wal-").back();
  const std::string bytes = slurp(newest);
  const auto scan = detail::scan_records(newest, bytes, 1 << 20, true);
  const std::uint64_t last = scan.records.back().offset;
  REQUIRE(scan.records.back().type == detail::rec_entry);
  for (std::uint64_t cut = last; cut < bytes.size(); ++cut) {
    for (int variant = 0; variant < 3; ++variant) {
      CAPTURE(cut);
      CAPTURE(variant);
      temp_dir c;
      copy_dir(t.path(), c.path());
      std::string torn = bytes.substr(0, cut);
      if (variant == 1) torn.resize(bytes.size(), '\0');            // zeros after the cut
      if (variant == 2 && cut != last) continue;
      if (variant == 2) {  // the last record is complete but fails its CRC
        torn = bytes;
        torn.back() = static_cast<char>(torn.back() ^ 0x01);
      }
      spit(c.path() / newest.filename(), torn);
      disk d = disk::open(c.path(), me);
      const recovered& r = d.recovered_state();
      CHECK(r.entries == make_entries(1, 1, 5));
      CHECK(r.hard == hard_state{1, 1, 3});
      // Ends on a record boundary, or zeros follow one (unused preallocated
      // space, wal_options::preallocate): nothing torn, nothing to warn about.
      if (cut == last && variant <= 1) {
        CHECK(r.warnings.empty());
        continue;
      }
      REQUIRE(r.warnings.size() == 1);
      CHECK(r.warnings[0].find(newest.filename().string()) != std::string::npos);
      CHECK(r.warnings[0].find("byte offset " + std::to_string(last)) != std::string::npos);
    }
  }
}

TEST_CASE("a flipped byte in a middle record is corruption naming the file and offset") {
  temp_dir t;
  {
    disk d = disk::open(t.path(), me);
    d.write({.hard = hard_state{1, 1, 3}, .entries = make_entries(1, 1, 20)});
    d.write({.hard = hard_state{1, 1, 20}});
  }
  // The segment written by the first open (the second open started a newer one).
  const auto segs = files_with_prefix(t.path(), "wal-");
  for (const fs::path& victim : segs) {
    const std::string bytes = slurp(victim);
    const auto scan = detail::scan_records(victim, bytes, 1 << 20, true);
    if (scan.records.size() < 10) continue;
    const auto& rec = scan.records[8];
    const std::uint64_t end = rec.offset + detail::record_header_bytes + rec.payload.size();
    for (std::uint64_t pos = rec.offset; pos < end; ++pos) {
      CAPTURE(pos);
      temp_dir c;
      copy_dir(t.path(), c.path());
      std::string flipped = bytes;
      flipped[pos] = static_cast<char>(flipped[pos] ^ 0x40);
      spit(c.path() / victim.filename(), flipped);
      const std::string msg = message_of(c.path());
      CAPTURE(msg);
      CHECK(msg.find(victim.filename().string()) != std::string::npos);
      CHECK(msg.find("byte offset " + std::to_string(rec.offset)) != std::string::npos);
    }
  }
}

TEST_CASE("preallocated segments: reserved while open, cut to size when closed, zeros read as unused space") {
  temp_dir t;
  const options o = small_segments(64 * 1024);
  fs::path open_seg;
  std::uintmax_t used = 0;
  {
    disk d = disk::open(t.path(), me, o);
    d.write({.hard = hard_state{1, 1, 3}, .entries = make_entries(1, 1, 10)});
    open_seg = files_with_prefix(t.path(), "wal-").back();
    // The open segment has its whole size already (when the file system can).
    const bool reserved = fs::file_size(open_seg) == 64 * 1024;
    CHECK(reserved);
    const std::string bytes = slurp(open_seg);
    const auto scan = detail::scan_records(open_seg, bytes, 1 << 20, true);
    CHECK_FALSE(scan.torn);
    if (reserved) CHECK(scan.zero_tail == bytes.size() - scan.valid_bytes);
    used = scan.valid_bytes;

    // A copy taken now is what a crash leaves: zeros after the records.
    temp_dir crash;
    copy_dir(t.path(), crash.path());
    disk again = disk::open(crash.path(), me, o);
    CHECK(again.recovered_state().entries == make_entries(1, 1, 10));
    CHECK(again.recovered_state().warnings.empty());
  }
  // Closed cleanly: the unused space is gone.
  CHECK(fs::file_size(open_seg) == used);
  disk d = disk::open(t.path(), me, o);
  CHECK(d.recovered_state().entries == make_entries(1, 1, 10));
  CHECK(d.recovered_state().warnings.empty());
}

TEST_CASE("a segment closed by rollover keeps no preallocated zeros") {
  temp_dir t;
  const options o = small_segments(4096);
  {
    disk d = disk::open(t.path(), me, o);
    for (std::uint64_t i = 1; i <= 200; i += 10) d.write({.hard = hard_state{1, 1, i}, .entries = make_entries(1, i, i + 9)});
    const auto segs = files_with_prefix(t.path(), "wal-");
    REQUIRE(segs.size() > 2);
    for (std::size_t k = 0; k + 1 < segs.size(); ++k) {
      const std::string bytes = slurp(segs[k]);
      const auto scan = detail::scan_records(segs[k], bytes, 1 << 20, false);
      CHECK(scan.zero_tail == 0);
      CHECK(scan.valid_bytes == bytes.size());
    }
  }
  disk d = disk::open(t.path(), me, o);
  CHECK(d.recovered_state().entries == make_entries(1, 1, 200));
  CHECK(d.recovered_state().warnings.empty());
}

TEST_CASE("without preallocation the open segment is exactly its records") {
  temp_dir t;
  options o = small_segments(64 * 1024);
  o.wal.preallocate = false;
  disk d = disk::open(t.path(), me, o);
  d.write({.hard = hard_state{1, 1, 3}, .entries = make_entries(1, 1, 10)});
  const fs::path seg = files_with_prefix(t.path(), "wal-").back();
  const std::string bytes = slurp(seg);
  const auto scan = detail::scan_records(seg, bytes, 1 << 20, true);
  CHECK(scan.zero_tail == 0);
  CHECK(scan.valid_bytes == bytes.size());
}
