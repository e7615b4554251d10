// Unit tests of the key-value state machine (kv/state_machine.hpp): the store,
// revisions, compare-and-swap, applied-index tracking, client sessions
// (thesis §6.3) and determinism.
#include <doctest/doctest.h>

#include <kv/kv_support.hpp>
#include <support/harness.hpp>

#include <raftkv/kv.hpp>

#include <optional>
#include <string>
#include <vector>

namespace {

using raftkv::kv::apply_result;
using raftkv::kv::apply_status;
using core_index = raftkv::core::index_t;
using raftkv::kv::config;
using raftkv::kv::key_value;
using raftkv::kv::state_machine;
using raftkv::kv::test::apply_all;
using raftkv::kv::test::cas_del;
using raftkv::kv::test::cas_put;
using raftkv::kv::test::del;
using raftkv::kv::test::put;
using raftkv::kv::test::workload;

/// A machine whose next entry index is chosen for the caller.
struct machine {
  state_machine sm;
  explicit machine(config cfg = {}) : sm(cfg) {}
  apply_result operator()(const std::string& data) { return sm.apply(sm.applied_index() + 1, data); }
};

/// The value of `key` in `sm`, without its revisions.
std::optional<std::string> value_of(const state_machine& sm, std::string_view key) {
  auto kv = sm.get(key);
  if (!kv) return std::nullopt;
  return kv->value;
}

/// One entry of a table-driven test and what must come out of it (flat:
/// GCC 12 warns falsely about an apply_result nested in a braced table).
struct step {
  const char* what;
  std::string data;                   ///< the entry; empty for a no-op
  apply_status status;                ///< the rest is the expected apply_result at the entry's index
  const char* previous;               ///< nullptr: none
  std::uint64_t previous_mod_revision;
  std::uint64_t revision;             ///< also revision() afterwards, for a no-op too
  std::optional<key_value> key_after; ///< the watched key afterwards; nullopt = absent
};

/// Applies `steps` in order to a fresh machine (entry i at index i + 1),
/// checking each result, the watched key and revision() after each.
void run_steps(const std::vector<step>& steps, std::string_view watched) {
  machine m;
  for (const step& s : steps) {
    CAPTURE(s.what);
    const core_index index = m.sm.applied_index() + 1;
    CAPTURE(index);
    if (s.data.empty()) {
      m.sm.apply_noop(index);
    } else {
      const apply_result expected{
          .status = s.status,
          .previous = s.previous != nullptr ? std::optional<std::string>(s.previous) : std::nullopt,
          .previous_mod_revision = s.previous_mod_revision,
          .revision = s.revision,
          .index = index};
      CHECK(m(s.data) == expected);
    }
    CHECK(m.sm.revision() == s.revision);
    CHECK(m.sm.get(watched) == s.key_after);
  }
}

}  // namespace

TEST_CASE("put, get and delete keep the store and its byte count") {
  machine m;
  CHECK(m.sm.size() == 0);
  CHECK(m.sm.bytes() == 0);
  CHECK_FALSE(m.sm.get("a").has_value());

  apply_result r = m(put(0, 0, "a", "one"));
  CHECK(r == apply_result{.status = apply_status::ok, .previous = std::nullopt, .revision = 1, .index = 1});
  CHECK(m.sm.get("a") == key_value{"a", "one", 1, 1, 1});
  CHECK(m.sm.bytes() == 4);

  r = m(put(0, 0, "a", "three"));
  CHECK(r == apply_result{.status = apply_status::ok, .previous = "one", .previous_mod_revision = 1,
                          .revision = 2, .index = 2});
  CHECK(m.sm.get("a") == key_value{"a", "three", 1, 2, 2});
  CHECK(m.sm.size() == 1);
  CHECK(m.sm.bytes() == 6);

  r = m(put(0, 0, "b", ""));
  CHECK(r.previous == std::nullopt);
  CHECK(m.sm.get("b") == key_value{"b", "", 3, 3, 1});
  CHECK(m.sm.bytes() == 7);

  r = m(del(0, 0, "missing"));
  CHECK(r == apply_result{.status = apply_status::not_found, .previous = std::nullopt, .revision = 3,
                          .index = 4});
  CHECK(m.sm.size() == 2);

  r = m(del(0, 0, "a"));
  CHECK(r == apply_result{.status = apply_status::ok, .previous = "three", .previous_mod_revision = 2,
                          .revision = 4, .index = 5});
  CHECK_FALSE(m.sm.get("a").has_value());
  CHECK(m.sm.size() == 1);
  CHECK(m.sm.bytes() == 1);
  CHECK(m.sm.applied_index() == 5);
}

TEST_CASE("the revision counts writes that change the store; keys carry theirs") {
  using st = apply_status;
  const std::optional<key_value> none;
  const std::vector<step> steps = {
      {"create a", put(0, 0, "a", "1"), st::ok, nullptr, 0, 1, key_value{"a", "1", 1, 1, 1}},
      {"overwrite a", put(0, 0, "a", "2"), st::ok, "1", 1, 2, key_value{"a", "2", 1, 2, 2}},
      {"another key", put(0, 0, "b", "x"), st::ok, nullptr, 0, 3, key_value{"a", "2", 1, 2, 2}},
      {"the same value again is a write too", put(0, 0, "a", "2"), st::ok, "2", 2, 4,
       key_value{"a", "2", 1, 4, 3}},
      {"delete of an absent key", del(0, 0, "missing"), st::not_found, nullptr, 0, 4,
       key_value{"a", "2", 1, 4, 3}},
      {"a no-op entry", "", st::ok, nullptr, 0, 4, key_value{"a", "2", 1, 4, 3}},
      {"delete a", del(0, 0, "a"), st::ok, "2", 4, 5, none},
      {"delete a again", del(0, 0, "a"), st::not_found, nullptr, 0, 5, none},
      {"garbage", "garbage", st::bad_command, nullptr, 0, 5, none},
      {"recreate a: new create_revision, version 1", put(0, 0, "a", "3"), st::ok, nullptr, 0, 6,
       key_value{"a", "3", 6, 6, 1}},
      {"b is untouched by a's history", put(0, 0, "b", "y"), st::ok, "x", 3, 7, key_value{"a", "3", 6, 6, 1}},
      {"more writes elsewhere leave a alone", put(0, 0, "b", "z"), st::ok, "y", 7, 8, key_value{"a", "3", 6, 6, 1}},
  };
  run_steps(steps, "a");
}

TEST_CASE("compare-and-swap applies only on the expected mod_revision (0 = absent)") {
  using st = apply_status;
  // Before each case: k created at 1, other at 2, k overwritten at 3.
  const std::vector<std::string> setup = {put(0, 0, "k", "v0"), put(0, 0, "other", "o"), put(0, 0, "k", "v1")};
  const key_value k{"k", "v1", 1, 3, 2};
  // The result of every case is at index 4; `previous` is "v1" exactly when k
  // was overwritten or deleted.
  struct cas_case {
    const char* name;
    std::string data;
    st status;
    std::uint64_t previous_mod_revision;
    std::uint64_t revision;
    bool k_changed;  ///< k's "v1" is in the result's previous
    std::optional<key_value> k_after;
    std::optional<key_value> new_after;
  };
  const std::optional<key_value> none;
  const std::vector<cas_case> cases = {
      {"put on the current mod_revision", cas_put(0, 0, "k", "v2", 3), st::ok, 3, 4, true,
       key_value{"k", "v2", 1, 4, 3}, none},
      {"put on the create_revision", cas_put(0, 0, "k", "v2", 1), st::cas_failed, 3, 3, false, k, none},
      {"put on another key's revision", cas_put(0, 0, "k", "v2", 2), st::cas_failed, 3, 3, false, k, none},
      {"put on a future revision", cas_put(0, 0, "k", "v2", 9), st::cas_failed, 3, 3, false, k, none},
      {"put if absent, present", cas_put(0, 0, "k", "v2", 0), st::cas_failed, 3, 3, false, k, none},
      {"put if absent, absent", cas_put(0, 0, "new", "n", 0), st::ok, 0, 4, false, k,
       key_value{"new", "n", 4, 4, 1}},
      {"put on a revision, absent", cas_put(0, 0, "new", "n", 3), st::cas_failed, 0, 3, false, k, none},
      {"delete on the current mod_revision", cas_del(0, 0, "k", 3), st::ok, 3, 4, true, none, none},
      {"delete on an old revision", cas_del(0, 0, "k", 1), st::cas_failed, 3, 3, false, k, none},
      {"delete if absent, present", cas_del(0, 0, "k", 0), st::cas_failed, 3, 3, false, k, none},
      {"delete if absent, absent: nothing to delete", cas_del(0, 0, "new", 0), st::not_found, 0, 3, false, k,
       none},
  };
  for (const cas_case& c : cases) {
    CAPTURE(c.name);
    machine m;
    for (const auto& e : setup) m(e);
    const std::string before = m.sm.serialize();
    const apply_result expected{.status = c.status,
                                .previous = c.k_changed ? std::optional<std::string>("v1") : std::nullopt,
                                .previous_mod_revision = c.previous_mod_revision,
                                .revision = c.revision,
                                .index = 4};
    CHECK(m(c.data) == expected);
    CHECK(m.sm.revision() == c.revision);
    CHECK(m.sm.get("k") == c.k_after);
    CHECK(m.sm.get("new") == c.new_after);
    CHECK(m.sm.get("other") == key_value{"other", "o", 2, 2, 1});
    if (c.status != st::ok) {
      // Nothing changed but the applied index: the same state as a no-op.
      machine noop;
      for (const auto& e : setup) noop(e);
      noop.sm.apply_noop(4);
      CHECK(m.sm.serialize() == noop.sm.serialize());
    }
    CHECK(m.sm.serialize() != before);  // the applied index moved, at least
  }
}

TEST_CASE("a compare-and-swap retried through its session gets the first answer") {
  machine m;
  m(put(0, 0, "k", "a"));  // 1: k at revision 1
  const apply_result failed = m(cas_put(7, 1, "k", "mine", 2));  // 2: expects revision 2, k is at 1
  CHECK(failed == apply_result{.status = apply_status::cas_failed, .previous_mod_revision = 1, .revision = 1,
                               .index = 2});
  m(put(0, 0, "k", "b"));  // 3: k at revision 2, so the same CAS would now succeed

  apply_result again = m(cas_put(7, 1, "k", "mine", 2));  // 4
  CHECK(again.duplicate);
  again.duplicate = false;
  CHECK(again == failed);  // the recorded answer, not a fresh evaluation
  CHECK(value_of(m.sm, "k") == "b");
  CHECK(m.sm.revision() == 2);

  const apply_result won = m(cas_put(7, 2, "k", "mine", 2));  // 5
  CHECK(won == apply_result{.status = apply_status::ok, .previous = "b", .previous_mod_revision = 2,
                            .revision = 3, .index = 5});
  m(put(0, 0, "k", "c"));  // 6
  again = m(cas_put(7, 2, "k", "mine", 2));  // 7: would fail if evaluated again
  CHECK(again.duplicate);
  again.duplicate = false;
  CHECK(again == won);
  CHECK(value_of(m.sm, "k") == "c");
  CHECK(m.sm.revision() == 4);
}

TEST_CASE("list returns keys with a prefix in byte order, up to a limit") {
  machine m;
  for (const char* k : {"b/2", "a", "b/1", "b/10", "c", "b"}) m(put(0, 0, k, std::string("v") + k));
  m(put(0, 0, std::string("b/\xff", 3), "high"));
  m(put(0, 0, std::string("b/\0", 3), "low"));

  auto keys = [](const std::vector<key_value>& kvs) {
    std::vector<std::string> out;
    for (const auto& kv : kvs) out.push_back(kv.key);
    return out;
  };
  CHECK(keys(m.sm.list("b/", 100)) ==
        std::vector<std::string>{std::string("b/\0", 3), "b/1", "b/10", "b/2", "b/\xff"});
  CHECK(keys(m.sm.list("b/", 2)) == std::vector<std::string>{std::string("b/\0", 3), "b/1"});
  CHECK(keys(m.sm.list("", 3)) == std::vector<std::string>{"a", "b", std::string("b/\0", 3)});
  CHECK(m.sm.list("", 100).size() == 8);
  CHECK(m.sm.list("b/", 0).empty());
  CHECK(m.sm.list("bb", 10).empty());
  CHECK(m.sm.list("z", 10).empty());
  // Revisions in insertion order: b/2 1, a 2, b/1 3, b/10 4, ...
  CHECK(m.sm.list("b/1", 10) == std::vector<key_value>{{"b/1", "vb/1", 3, 3, 1}, {"b/10", "vb/10", 4, 4, 1}});
}

TEST_CASE("page skips keys by position in byte order") {
  machine m;
  for (const char* k : {"d", "b", "a", "c", "e"}) m(put(0, 0, k, k));
  auto keys = [](const std::vector<key_value>& kvs) {
    std::string out;
    for (const auto& kv : kvs) out += kv.key;
    return out;
  };
  CHECK(keys(m.sm.page(0, 2)) == "ab");
  CHECK(keys(m.sm.page(2, 2)) == "cd");
  CHECK(keys(m.sm.page(4, 10)) == "e");
  CHECK(m.sm.page(5, 10).empty());
  CHECK(m.sm.page(99, 1).empty());
  CHECK(m.sm.page(1, 0).empty());
  CHECK(m.sm.page(0, 1, 0).at(0).value.empty());  // values cut to 0 bytes
  CHECK(m.sm.page(0, 1, 0).at(0).mod_revision == 3);
}

TEST_CASE("every entry advances the applied index, which only grows") {
  raftkv::test::throwing_asserts guard;
  state_machine sm;
  CHECK(sm.applied_index() == 0);
  sm.apply_noop(1);
  CHECK(sm.applied_index() == 1);

  SUBCASE("a command") {
    CHECK(sm.apply(2, put(0, 0, "k", "v")).status == apply_status::ok);
    CHECK(sm.applied_index() == 2);
  }
  SUBCASE("undecodable data, which changes nothing else") {
    const apply_result r = sm.apply(2, "not a command");
    CHECK(r == apply_result{.status = apply_status::bad_command, .index = 2});
    CHECK(sm.applied_index() == 2);
    CHECK(sm.size() == 0);
  }
  SUBCASE("an invalid decoded command is bad_command too") {
    CHECK(sm.apply(2, raftkv::kv::command{.key = ""}).status == apply_status::bad_command);
  }
  SUBCASE("gaps are allowed (entries without commands need not be reported)") {
    sm.apply_noop(5);
    CHECK(sm.applied_index() == 5);
  }
  SUBCASE("an index at or below the applied one is a bug") {
    CHECK_THROWS_AS(sm.apply_noop(1), raftkv::test::invariant_violation);
    CHECK_THROWS_AS(sm.apply(1, put(0, 0, "k", "v")), raftkv::test::invariant_violation);
    CHECK_THROWS_AS(sm.apply(0, "x"), raftkv::test::invariant_violation);
    CHECK(sm.size() == 0);
  }
}

TEST_CASE("a retried write gets its original result and is not applied again (thesis §6.3)") {
  machine m;
  const apply_result first = m(put(7, 1, "k", "a"));
  CHECK(first == apply_result{.status = apply_status::ok, .revision = 1, .index = 1});
  m(put(0, 0, "k", "b"));  // someone else overwrites k

  const apply_result retry = m(put(7, 1, "k", "a"));
  CHECK(retry.duplicate);
  CHECK(retry.status == apply_status::ok);
  CHECK(retry.index == 1);  // the entry that took effect
  CHECK(retry.previous == std::nullopt);
  CHECK(retry.revision == 1);  // as of the original write
  CHECK(value_of(m.sm, "k") == "b");  // the retry did not write again
  CHECK(m.sm.revision() == 2);
  CHECK(m.sm.applied_index() == 3);

  SUBCASE("a cached result keeps the previous value") {
    const apply_result r = m(put(7, 2, "k", "c"));
    CHECK(r.previous == "b");
    m(put(0, 0, "k", "d"));
    const apply_result again = m(put(7, 2, "k", "c"));
    CHECK(again == apply_result{.status = apply_status::ok, .previous = "b", .previous_mod_revision = 2,
                                .revision = 3, .index = 4, .duplicate = true});
    CHECK(value_of(m.sm, "k") == "d");
  }
  SUBCASE("a cached not_found stays not_found after the key appears") {
    CHECK(m(del(7, 2, "gone")).status == apply_status::not_found);
    m(put(0, 0, "gone", "here"));
    const apply_result again = m(del(7, 2, "gone"));
    CHECK(again.status == apply_status::not_found);
    CHECK(again.duplicate);
    CHECK(value_of(m.sm, "gone") == "here");
  }
}

TEST_CASE("a write older than the session's last is stale and changes nothing") {
  machine m;
  m(put(7, 1, "k", "a"));
  m(put(7, 2, "k", "b"));
  const apply_result r = m(put(7, 1, "k", "old"));
  CHECK(r == apply_result{.status = apply_status::stale_request, .revision = 2, .index = 3});
  CHECK(value_of(m.sm, "k") == "b");
  // Gaps in seq are fine: writes the client gave up on never reached the log.
  CHECK(m(put(7, 5, "k", "e")).status == apply_status::ok);
  CHECK(m(put(7, 4, "k", "d")).status == apply_status::stale_request);
  CHECK(value_of(m.sm, "k") == "e");
}

TEST_CASE("an unknown client must start at seq 1, else its session expired") {
  machine m;
  const apply_result r = m(put(9, 2, "k", "v"));
  CHECK(r == apply_result{.status = apply_status::session_expired, .index = 1});
  CHECK_FALSE(m.sm.get("k").has_value());
  CHECK(m.sm.session_count() == 0);  // no session was opened
  CHECK(m(put(9, 1, "k", "v")).status == apply_status::ok);
  CHECK(m.sm.session_count() == 1);
}

TEST_CASE("client 0 has no session: every write applies") {
  machine m;
  CHECK(m(put(0, 0, "k", "a")).previous == std::nullopt);
  const apply_result r = m(put(0, 0, "k", "a"));
  CHECK_FALSE(r.duplicate);
  CHECK(r.previous == "a");  // applied a second time
  CHECK(m(del(0, 0, "k")).status == apply_status::ok);
  CHECK(m(del(0, 0, "k")).status == apply_status::not_found);
  CHECK(m.sm.session_count() == 0);
}

TEST_CASE("a full session table evicts the least recently active session") {
  machine m(config{.max_sessions = 3});
  m(put(1, 1, "a", "1"));  // index 1
  m(put(2, 1, "b", "1"));  // index 2
  m(put(3, 1, "c", "1"));  // index 3
  m(put(1, 2, "a", "2"));  // index 4: client 1 is now the most recent
  CHECK(m.sm.session_count() == 3);

  m(put(4, 1, "d", "1"));  // index 5: evicts client 2 (last active at 2)
  CHECK(m.sm.session_count() == 3);
  CHECK(m(put(2, 2, "b", "2")).status == apply_status::session_expired);
  CHECK(value_of(m.sm, "b") == "1");
  CHECK(m(put(1, 2, "a", "2")).duplicate);  // index 7; clients 1 and 3 survive
  CHECK(m(put(3, 1, "c", "1")).duplicate);  // index 8

  SUBCASE("retries and stale writes count as activity") {
    CHECK(m(put(4, 2, "d", "2")).status == apply_status::ok);  // 9; now 1@7, 3@8, 4@9
    CHECK(m(put(1, 1, "a", "x")).status == apply_status::stale_request);  // 10: 1@10
    m(put(5, 1, "e", "1"));  // 11: evicts 3, the oldest once the stale write counted
    CHECK(m(put(3, 2, "c", "2")).status == apply_status::session_expired);  // 12
    CHECK(m(put(4, 2, "d", "2")).duplicate);  // 13: 1@10, 5@11, 4@13
    m(put(6, 1, "f", "1"));                   // 14: evicts 1, not 4 (its retry counted)
    CHECK(m(put(1, 3, "a", "3")).status == apply_status::session_expired);
    CHECK(m(put(4, 3, "d", "3")).status == apply_status::ok);
    CHECK(m(put(5, 2, "e", "2")).status == apply_status::ok);
    CHECK(m(put(6, 2, "f", "2")).status == apply_status::ok);
  }
  SUBCASE("the same entries evict the same session on another replica") {
    machine other(config{.max_sessions = 3});
    for (const auto& e : {put(1, 1, "a", "1"), put(2, 1, "b", "1"), put(3, 1, "c", "1"),
                          put(1, 2, "a", "2"), put(4, 1, "d", "1"), put(2, 2, "b", "2"),
                          put(1, 2, "a", "2"), put(3, 1, "c", "1")}) {
      other(e);
    }
    CHECK(other.sm.serialize() == m.sm.serialize());
  }
}

TEST_CASE("a session expires after session_ttl_entries entries without activity") {
  // Client 7 writes at index 1, then `idle` entries pass, then it writes seq 2
  // at index idle + 2. Alive iff (idle + 2) - 1 <= ttl.
  enum class filler { noops, other_clients, gap };
  struct expiry_case {
    std::uint64_t ttl;
    std::uint64_t idle;
    filler fill;
    apply_status expected;
  };
  std::vector<expiry_case> cases;
  for (filler f : {filler::noops, filler::other_clients, filler::gap}) {
    cases.push_back({3, 0, f, apply_status::ok});
    cases.push_back({3, 2, f, apply_status::ok});               // index 4: 4 - 1 = 3, the last one alive
    cases.push_back({3, 3, f, apply_status::session_expired});  // index 5: 5 - 1 = 4 > 3
    cases.push_back({3, 50, f, apply_status::session_expired});
    cases.push_back({1, 0, f, apply_status::ok});
    cases.push_back({1, 1, f, apply_status::session_expired});
    cases.push_back({0, 5000, f, apply_status::ok});  // 0: never
  }
  for (const expiry_case& c : cases) {
    CAPTURE(c.ttl);
    CAPTURE(c.idle);
    CAPTURE(static_cast<int>(c.fill));
    machine m(config{.session_ttl_entries = c.ttl});
    CHECK(m(put(7, 1, "k", "1")).status == apply_status::ok);
    for (std::uint64_t i = 0; i < c.idle; ++i) {
      if (c.fill == filler::noops) m.sm.apply_noop(m.sm.applied_index() + 1);
      // Other clients' sessions of seq 1: each is touched once, like client 7.
      if (c.fill == filler::other_clients) m(put(100 + i, 1, "other", "x"));
    }
    const core_index at = c.idle + 2;
    const apply_result r = m.sm.apply(at, put(7, 2, "k", "2"));
    CHECK(r.status == c.expected);
    CHECK(value_of(m.sm, "k") == (c.expected == apply_status::ok ? "2" : "1"));
    // After an expiry the client must start over: seq 1 opens a new session.
    if (c.expected == apply_status::session_expired) {
      CHECK(m.sm.apply(at + 1, put(7, 1, "k", "again")).status == apply_status::ok);
    }
  }
}

TEST_CASE("every entry of a session counts as activity for expiry") {
  machine m(config{.session_ttl_entries = 3});
  m(put(7, 1, "k", "1"));                                             // 1
  m(put(7, 2, "k", "2"));                                             // 2
  m.sm.apply_noop(4);
  CHECK(m.sm.apply(5, put(7, 2, "k", "2")).duplicate);                // 5: a retry, 5 - 2 = 3
  m.sm.apply_noop(7);
  CHECK(m.sm.apply(8, put(7, 1, "k", "0")).status == apply_status::stale_request);  // 8 - 5 = 3
  CHECK(m.sm.apply(11, put(7, 3, "k", "3")).status == apply_status::ok);           // 11 - 8 = 3
  CHECK(m.sm.session_count() == 1);
  m.sm.apply_noop(14);
  CHECK(m.sm.session_count() == 1);  // 14 - 11 = 3
  m.sm.apply_noop(15);
  CHECK(m.sm.session_count() == 0);  // dropped by the entry itself, commands or not
  CHECK(m.sm.apply(16, put(7, 4, "k", "4")).status == apply_status::session_expired);
}

TEST_CASE("replicas expire the same sessions, reported no-ops or not") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    auto entries = workload(seed, 600, 8);
    entries.push_back(put(0, 0, "last", "x"));  // end on a command, so both end at the same index
    const config cfg{.max_sessions = 6, .session_ttl_entries = 12};
    state_machine a(cfg);
    state_machine b(cfg);
    state_machine c(cfg);
    std::vector<apply_result> ra, rb, rc;
    std::size_t expired = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const core_index index = i + 1;
      if (entries[i].empty()) {
        a.apply_noop(index);
        b.apply_noop(index);  // c skips it: gaps are allowed
        continue;
      }
      const std::size_t before = a.session_count();
      ra.push_back(a.apply(index, entries[i]));
      rb.push_back(b.apply(index, entries[i]));
      rc.push_back(c.apply(index, entries[i]));
      // Opening a session never shrinks the table and eviction only makes room
      // for one, so a smaller table after an entry means expiry.
      if (a.session_count() < before) ++expired;
    }
    CHECK(ra == rb);
    CHECK(ra == rc);
    CHECK(a.serialize() == b.serialize());
    CHECK(a.serialize() == c.serialize());
    CHECK(expired > 0);
    // Without expiry the same log ends elsewhere: the check above can fail.
    state_machine forever(config{.max_sessions = 6, .session_ttl_entries = 0});
    CHECK(apply_all(forever, entries) != ra);
  }
}

TEST_CASE("replicas applying the same entries end in byte-identical states") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    const auto entries = workload(seed, 500, 8);
    state_machine a(config{.max_sessions = 5});
    state_machine b(config{.max_sessions = 5});
    const auto ra = apply_all(a, entries);
    const auto rb = apply_all(b, entries);
    CHECK(ra == rb);
    CHECK(a.serialize() == b.serialize());
    CHECK(a.same_state(b));
    // A different history gives a different state: the check above can fail.
    state_machine c(config{.max_sessions = 5});
    apply_all(c, workload(seed + 1000, 500, 8));
    CHECK(c.serialize() != a.serialize());
  }
}

TEST_CASE("the workload exercises every outcome") {
  state_machine sm(config{.max_sessions = 5, .session_ttl_entries = 20});
  std::vector<int> seen(6, 0);
  for (const auto& r : apply_all(sm, workload(3, 2000, 8))) {
    ++seen[static_cast<std::size_t>(r.status)];
  }
  for (std::size_t s = 0; s < seen.size(); ++s) {
    CAPTURE(raftkv::kv::to_string(static_cast<apply_status>(s)));
    CHECK(seen[s] > 0);
  }
}

TEST_CASE("config and status names") {
  CHECK(config{}.max_sessions == 10000);
  CHECK(config{}.session_ttl_entries == 100000);
  CHECK(config{.session_ttl_entries = 0}.validate().has_value());
  CHECK(config{}.validate().has_value());
  CHECK(config{.max_sessions = 0}.validate().error() ==
        make_error_code(raftkv::errc::invalid_config));
  CHECK(raftkv::kv::to_string(apply_status::session_expired) == "session_expired");
  CHECK(raftkv::kv::to_string(apply_status::stale_request) == "stale_request");
  CHECK(raftkv::kv::to_string(apply_status::cas_failed) == "cas_failed");
}
