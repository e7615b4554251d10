// Unit tests of the log (raft_log), the leader's per-follower bookkeeping
// (progress, inflights), memory_storage and config::validate.
#include <doctest/doctest.h>

#include <support/harness.hpp>

#include <raftkv/core.hpp>

#include <optional>
#include <string>
#include <vector>

namespace {

using raftkv::errc;
using raftkv::core::config;
using raftkv::core::entry;
using raftkv::core::entry_id;
using raftkv::core::index_t;
using raftkv::core::inflights;
using raftkv::core::memory_storage;
using raftkv::core::progress;
using raftkv::core::progress_state;
using raftkv::core::raft_log;
using raftkv::core::term_t;

entry ent(term_t term, index_t index, std::size_t data_bytes = 0) {
  return entry{.term = term, .index = index, .data = std::string(data_bytes, 'x')};
}

/// Entries first, first+1, ... with the given terms.
std::vector<entry> with_terms(std::vector<term_t> terms, index_t first = 1) {
  std::vector<entry> out;
  for (term_t t : terms) out.push_back(ent(t, first + out.size()));
  return out;
}

/// The term of every entry of `log`, from its first index to its last.
std::vector<term_t> terms_of(const raft_log& log) {
  std::vector<term_t> out;
  for (index_t i = log.first_index(); i <= log.last_index(); ++i) out.push_back(log.term_or_zero(i));
  return out;
}

std::vector<index_t> indexes_of(const std::vector<entry>& ents) {
  std::vector<index_t> out;
  for (const entry& e : ents) out.push_back(e.index);
  return out;
}

}  // namespace

TEST_CASE("memory_storage starts empty and answers term queries at its edges") {
  memory_storage s;
  CHECK(s.first_index() == 1);
  CHECK(s.last_index() == 0);
  CHECK(s.initial_hard_state() == raftkv::core::hard_state{});
  REQUIRE(s.term(0).has_value());
  CHECK(*s.term(0) == 0);
  CHECK(s.term(1).error() == make_error_code(errc::unavailable));
  CHECK(s.entries(1, 2, 100).error() == make_error_code(errc::unavailable));
}

TEST_CASE("memory_storage append replaces the suffix from the first new index") {
  memory_storage s;
  s.append(with_terms({1, 1, 1, 1}));
  s.append(with_terms({2}, 3));
  CHECK(s.last_index() == 3);
  CHECK(*s.term(3) == 2);
  CHECK(s.term(4).error() == make_error_code(errc::unavailable));
  s.append(with_terms({2, 2}, 4));
  CHECK(s.last_index() == 5);
}

TEST_CASE("memory_storage entries are bounded by bytes but return at least one") {
  memory_storage s;
  for (index_t i = 1; i <= 5; ++i) s.append(std::vector{ent(1, i, 76)});  // 100 bytes each
  struct row {
    std::uint64_t max_bytes;
    std::size_t want;
  };
  for (const row r : {row{1, 1}, row{100, 1}, row{199, 1}, row{200, 2}, row{1000, 4}}) {
    CAPTURE(r.max_bytes);
    auto got = s.entries(1, 5, r.max_bytes);
    REQUIRE(got.has_value());
    CHECK(got->size() == r.want);
  }
}

TEST_CASE("raft_log starts from what storage holds") {
  memory_storage s;
  s.append(with_terms({1, 1, 2}));
  s.set_hard_state({.term = 2, .vote = 0, .commit = 2});
  raft_log log(s);
  CHECK(log.last_id() == entry_id{2, 3});
  CHECK(log.stable_index() == 3);
  CHECK(log.committed() == 2);
  CHECK(log.applied() == 0);
  CHECK(log.unstable_entries().empty());
  CHECK(log.next_committed(1 << 20).size() == 2);
}

TEST_CASE("raft_log maybe_append checks the previous entry and appends what is new") {
  struct row {
    const char* name;
    index_t prev_index;
    term_t prev_term;
    index_t leader_commit;
    std::vector<entry> ents;
    std::optional<index_t> want_last_new;
    std::vector<term_t> want_terms;
    index_t want_commit;
    index_t want_truncated_from;
  };
  const std::vector<row> rows = {
      {"prev term differs", 3, 2, 3, with_terms({4}, 4), std::nullopt, {1, 2, 3}, 1, 0},
      {"prev beyond our log", 4, 3, 3, with_terms({4}, 5), std::nullopt, {1, 2, 3}, 1, 0},
      {"heartbeat-like, commit follows leader", 3, 3, 3, {}, 3, {1, 2, 3}, 3, 0},
      {"commit bounded by last new entry", 2, 2, 3, {}, 2, {1, 2, 3}, 2, 0},
      {"entries already present", 1, 1, 2, with_terms({2, 3}, 2), 3, {1, 2, 3}, 2, 0},
      {"old short append keeps our longer suffix", 1, 1, 0, with_terms({2}, 2), 2, {1, 2, 3}, 1, 0},
      {"extends the log", 3, 3, 4, with_terms({3, 4}, 4), 5, {1, 2, 3, 3, 4}, 4, 0},
      {"conflict at the last entry", 2, 2, 0, with_terms({4}, 3), 3, {1, 2, 4}, 1, 3},
      {"conflict in the middle", 1, 1, 2, with_terms({4, 4, 4}, 2), 4, {1, 4, 4, 4}, 2, 2},
      {"conflict after matching entries", 1, 1, 0, with_terms({2, 5}, 2), 3, {1, 2, 5}, 1, 3},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    memory_storage s;
    raft_log log(s);
    log.append(with_terms({1, 2, 3}));
    log.commit_to(1);
    index_t truncated_from = 0;
    auto last_new = log.maybe_append(r.prev_index, r.prev_term, r.leader_commit, r.ents, &truncated_from);
    CHECK(last_new == r.want_last_new);
    CHECK(terms_of(log) == r.want_terms);
    CHECK(log.committed() == r.want_commit);
    CHECK(truncated_from == r.want_truncated_from);
    log.check();
  }
}

TEST_CASE("raft_log truncates a conflicting suffix that is already in storage") {
  memory_storage s;
  s.append(with_terms({1, 1, 1, 1}));
  raft_log log(s);
  index_t truncated_from = 0;
  auto last_new = log.maybe_append(1, 1, 0, with_terms({2}, 2), &truncated_from);
  REQUIRE(last_new.has_value());
  CHECK(*last_new == 2);
  CHECK(truncated_from == 2);
  CHECK(log.last_id() == entry_id{2, 2});
  CHECK(log.term(3).error() == make_error_code(errc::unavailable));
  CHECK(log.stable_index() == 1);  // index 2 must be persisted again
  REQUIRE(log.unstable_entries().size() == 1);
  CHECK(log.unstable_entries()[0].id() == entry_id{2, 2});
  log.check();

  // The caller persists the ready: the disk loses its stale suffix.
  s.append(log.unstable_entries());
  log.stable_to({2, 2});
  CHECK(log.unstable_entries().empty());
  CHECK(s.last_index() == 2);
  CHECK(terms_of(log) == std::vector<term_t>{1, 2});
}

TEST_CASE("raft_log stable_to ignores an id the tail no longer holds") {
  memory_storage s;
  raft_log log(s);
  log.append(with_terms({1, 1, 1}));
  s.append(log.unstable_entries());  // persisting 1..3 of term 1 ...
  index_t truncated_from = 0;
  REQUIRE(log.maybe_append(1, 1, 0, with_terms({2}, 2), &truncated_from));  // ... while 2.. is replaced
  CHECK(truncated_from == 2);

  log.stable_to({1, 3});  // index 3 is gone from the log
  CHECK(log.unstable_entries().size() == 2);
  log.stable_to({1, 2});  // index 2 now has term 2
  CHECK(log.unstable_entries().size() == 2);
  CHECK(log.stable_index() == 0);

  log.stable_to({1, 1});
  CHECK(log.stable_index() == 1);
  REQUIRE(log.unstable_entries().size() == 1);
  CHECK(log.unstable_entries()[0].id() == entry_id{2, 2});
  log.check();
}

TEST_CASE("raft_log slice is bounded by bytes and count, and returns at least one entry") {
  memory_storage s;
  for (index_t i = 1; i <= 3; ++i) s.append(std::vector{ent(1, i, 76)});  // 100 bytes each
  raft_log log(s);
  log.append({ent(2, 4, 76), ent(2, 5, 76)});  // 4 and 5 unstable
  struct row {
    index_t lo;
    index_t hi;
    std::uint64_t max_bytes;
    std::size_t max_count;
    std::vector<index_t> want;
  };
  const std::vector<row> rows = {
      {1, 6, 1 << 20, 100, {1, 2, 3, 4, 5}},
      {1, 6, 1 << 20, 2, {1, 2}},
      {2, 6, 250, 100, {2, 3}},
      {3, 6, 250, 100, {3, 4}},  // crosses from storage into the unstable tail
      {4, 6, 250, 100, {4, 5}},
      {4, 6, 150, 100, {4}},
      {2, 6, 10, 100, {2}},      // below one entry's size: still one
      {5, 6, 10, 100, {5}},
      {1, 6, 1 << 20, 1, {1}},
      {3, 3, 1 << 20, 100, {}},
  };
  for (const row& r : rows) {
    CAPTURE(r.lo);
    CAPTURE(r.hi);
    CAPTURE(r.max_bytes);
    CAPTURE(r.max_count);
    auto got = log.slice(r.lo, r.hi, r.max_bytes, r.max_count);
    REQUIRE(got.has_value());
    CHECK(indexes_of(*got) == r.want);
  }
  CHECK(log.slice(0, 2, 1 << 20, 10).error() == make_error_code(errc::compacted));
  CHECK(log.slice(1, 7, 1 << 20, 10).error() == make_error_code(errc::unavailable));
}

TEST_CASE("§5.4.1 raft_log is_up_to_date compares last terms, then lengths") {
  memory_storage s;
  raft_log log(s);
  log.append(with_terms({1, 2, 3, 3, 3}));  // last (term 3, index 5)
  struct row {
    term_t last_term;
    index_t last_index;
    bool want;
  };
  const std::vector<row> rows = {
      {4, 1, true},   // later last term wins whatever the length
      {3, 6, true},   // same last term, longer
      {3, 5, true},   // identical
      {3, 4, false},  // same last term, shorter
      {2, 9, false},  // earlier last term loses whatever the length
      {0, 0, false},
  };
  for (const row& r : rows) {
    CAPTURE(r.last_term);
    CAPTURE(r.last_index);
    CHECK(log.is_up_to_date(r.last_index, r.last_term) == r.want);
  }
}

TEST_CASE("raft_log commit never goes back and maybe_commit needs the given term") {
  memory_storage s;
  raft_log log(s);
  log.append(with_terms({1, 1, 2, 2}));
  log.commit_to(3);
  log.commit_to(2);
  CHECK(log.committed() == 3);
  CHECK_FALSE(log.maybe_commit(2, 1));  // behind the commit index
  CHECK_FALSE(log.maybe_commit(4, 1));  // entry 4 has term 2, not 1
  CHECK(log.committed() == 3);
  CHECK(log.maybe_commit(4, 2));
  CHECK(log.committed() == 4);
  // An old append with a smaller leader commit does not move it back either.
  REQUIRE(log.maybe_append(1, 1, 1, {}, nullptr));
  CHECK(log.committed() == 4);
}

TEST_CASE("raft_log commit_to beyond the last index is a bug") {
  raftkv::test::throwing_asserts guard;
  memory_storage s;
  raft_log log(s);
  log.append(with_terms({1, 1}));
  CHECK_THROWS_AS(log.commit_to(3), raftkv::test::invariant_violation);
  CHECK(log.committed() == 0);
}

TEST_CASE("raft_log hands out committed entries once, bounded by bytes") {
  memory_storage s;
  raft_log log(s);
  log.append({ent(1, 1, 76), ent(1, 2, 76), ent(1, 3, 76)});
  log.commit_to(3);
  CHECK(indexes_of(log.next_committed(150)) == std::vector<index_t>{1});
  log.applying_to(1);
  CHECK(indexes_of(log.next_committed(1 << 20)) == std::vector<index_t>{2, 3});
  log.applying_to(3);
  CHECK_FALSE(log.has_next_committed());
  CHECK(log.next_committed(1 << 20).empty());
  log.applied_to(3);
  CHECK(log.applied() == 3);
  log.check();
}

TEST_CASE("inflights is a bounded ring of append ends") {
  inflights in(3);
  CHECK(in.capacity() == 3);
  in.add(1);
  in.add(2);
  in.add(3);
  CHECK(in.full());
  in.free_to(1);
  CHECK(in.count() == 2);
  CHECK_FALSE(in.full());
  in.add(4);  // wraps around the ring
  CHECK(in.full());
  in.free_to(3);
  CHECK(in.count() == 1);
  in.free_to(3);  // 4 is still unacknowledged
  CHECK(in.count() == 1);
  in.add(5);
  in.add(6);
  CHECK(in.full());
  in.free_first();  // frees 4, the oldest
  CHECK(in.count() == 2);
  in.free_to(5);
  CHECK(in.count() == 1);
  in.free_to(100);
  CHECK(in.count() == 0);
  in.free_first();  // nothing to free
  CHECK(in.count() == 0);
  in.add(7);
  in.reset();
  CHECK(in.count() == 0);
}

TEST_CASE("inflights add on a full ring is a bug") {
  raftkv::test::throwing_asserts guard;
  inflights in(1);
  in.add(1);
  CHECK_THROWS_AS(in.add(2), raftkv::test::invariant_violation);
}

TEST_CASE("progress maybe_update raises match and next, ignoring stale acknowledgements") {
  progress pr(5, 4);
  pr.probe_sent = true;
  CHECK(pr.maybe_update(3));
  CHECK(pr.match == 3);
  CHECK(pr.next == 5);  // next never goes back
  CHECK_FALSE(pr.probe_sent);
  CHECK(pr.maybe_update(7));
  CHECK(pr.match == 7);
  CHECK(pr.next == 8);
  CHECK_FALSE(pr.maybe_update(6));  // an older acknowledgement
  CHECK(pr.match == 7);
  CHECK(pr.next == 8);
}

TEST_CASE("progress is paused by an outstanding probe or a full window") {
  progress pr(1, 2);
  SUBCASE("probe") {
    CHECK_FALSE(pr.is_paused());
    pr.probe_sent = true;
    CHECK(pr.is_paused());
    pr.become_probe();
    CHECK_FALSE(pr.is_paused());
  }
  SUBCASE("replicate") {
    pr.maybe_update(3);
    pr.become_replicate();
    CHECK(pr.next == 4);
    pr.inflight.add(4);
    CHECK_FALSE(pr.is_paused());
    pr.inflight.add(5);
    CHECK(pr.is_paused());
    pr.inflight.free_to(4);
    CHECK_FALSE(pr.is_paused());
  }
}

TEST_CASE("progress maybe_decrease_to ignores stale rejections and falls back to probing") {
  SUBCASE("replicate") {
    progress pr(1, 4);
    pr.maybe_update(5);
    pr.become_replicate();
    pr.optimistic_update(9);
    pr.inflight.add(9);
    CHECK_FALSE(pr.maybe_decrease_to(5, 2));  // rejected at or below match: stale
    CHECK(pr.state == progress_state::replicate);
    CHECK(pr.next == 10);
    CHECK(pr.maybe_decrease_to(8, 7));
    CHECK(pr.state == progress_state::probe);
    CHECK(pr.next == 7);
    CHECK(pr.inflight.count() == 0);
    CHECK_FALSE(pr.is_paused());
  }
  SUBCASE("probe") {
    progress pr(6, 4);
    CHECK_FALSE(pr.maybe_decrease_to(3, 2));  // not the probe we wait for
    CHECK(pr.next == 6);
    CHECK(pr.maybe_decrease_to(5, 2));
    CHECK(pr.next == 2);
  }
  SUBCASE("the hint is clamped to (match, rejected]") {
    struct row {
      index_t candidate;
      index_t want_next;
    };
    for (const row r : {row{1, 4}, row{4, 4}, row{6, 6}, row{8, 8}, row{20, 8}}) {
      CAPTURE(r.candidate);
      progress pr(9, 4);
      pr.match = 3;
      CHECK(pr.maybe_decrease_to(8, r.candidate));
      CHECK(pr.next == r.want_next);
      CHECK(pr.match < pr.next);
    }
  }
}

TEST_CASE("config validate rejects out-of-range values and bad membership") {
  CHECK(raftkv::test::test_config(1, 3).validate().has_value());
  CHECK(raftkv::test::test_config(1, 1).validate().has_value());
  struct row {
    const char* name;
    void (*spoil)(config&);
  };
  const std::vector<row> rows = {
      {"no id", [](config& c) { c.id = 0; }},
      {"id not a voter", [](config& c) { c.id = 4; }},
      {"duplicate voter", [](config& c) { c.voters.push_back(2); }},
      {"voter 0", [](config& c) { c.voters.push_back(0); }},
      {"no voters", [](config& c) { c.voters.clear(); }},
      {"heartbeat 0", [](config& c) { c.heartbeat_ticks = 0; }},
      {"election equals heartbeat", [](config& c) { c.election_ticks = c.heartbeat_ticks = 3; }},
      {"election below heartbeat", [](config& c) {
         c.election_ticks = 2;
         c.heartbeat_ticks = 3;
       }},
      {"negative election", [](config& c) { c.election_ticks = -1; }},
      {"no entries per append", [](config& c) { c.max_append_entries = 0; }},
      {"no bytes per append", [](config& c) { c.max_append_bytes = 0; }},
      {"no inflight appends", [](config& c) { c.max_inflight_appends = 0; }},
      {"no uncommitted entries", [](config& c) { c.max_uncommitted_entries = 0; }},
      {"no pending reads", [](config& c) { c.max_pending_reads = 0; }},
      {"no events", [](config& c) { c.max_events_per_ready = 0; }},
      {"no committed bytes", [](config& c) { c.max_committed_bytes_per_ready = 0; }},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    config c = raftkv::test::test_config(1, 3);
    r.spoil(c);
    CHECK(c.validate().error() == make_error_code(errc::invalid_config));
  }
}
