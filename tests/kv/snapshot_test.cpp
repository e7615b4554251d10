// Unit tests of state_machine::serialize and restore: the documented layout,
// byte-identical round trips, continuing after a restore, and rejection of
// truncated, corrupted and forged snapshots (never a crash or an assert).
#include <doctest/doctest.h>

#include <kv/kv_support.hpp>
#include <support/harness.hpp>

#include <raftkv/kv.hpp>
#include <raftkv/kv/detail/codec.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace {

using raftkv::errc;
using raftkv::kv::apply_result;
using raftkv::kv::apply_status;
using raftkv::kv::config;
using raftkv::kv::state_machine;
using raftkv::kv::test::apply_all;
using raftkv::kv::test::cas_put;
using raftkv::kv::test::del;
using raftkv::kv::test::put;
using raftkv::kv::test::workload;
namespace codec = raftkv::kv::detail;

/// A snapshot written field by field, independent of serialize(), so tests
/// can forge ones whose checksum is right but whose content is not.
struct raw_snapshot {
  struct key {
    std::string key{}, value{};
    std::uint64_t create_revision = 1, mod_revision = 1, version = 1;
  };
  struct session {
    std::uint64_t client_id = 1, last_seq = 1, last_activity = 2;
    std::uint8_t status = 0;
    std::uint64_t index = 2, revision = 2, previous_mod_revision = 0;
    std::uint8_t has_previous = 0;
    std::string previous{};
  };
  std::string magic = "RKVS";
  std::uint8_t version = 2;
  std::uint64_t applied_index = 3;
  std::uint64_t revision = 2;
  std::vector<key> keys = {{"a", "1", 1, 1, 1}, {"b", "2", 2, 2, 1}};
  std::optional<std::uint64_t> key_count{};  ///< forged count; keys.size() when empty
  std::vector<session> sessions = {session{}};
  std::string trailing{};

  std::string bytes() const {
    std::string out = magic;
    codec::put_u8(out, version);
    codec::put_u64(out, applied_index);
    codec::put_u64(out, revision);
    codec::put_u64(out, key_count.value_or(keys.size()));
    for (const key& k : keys) {
      codec::put_bytes(out, k.key);
      codec::put_bytes(out, k.value);
      codec::put_u64(out, k.create_revision);
      codec::put_u64(out, k.mod_revision);
      codec::put_u64(out, k.version);
    }
    codec::put_u64(out, sessions.size());
    for (const session& s : sessions) {
      codec::put_u64(out, s.client_id);
      codec::put_u64(out, s.last_seq);
      codec::put_u64(out, s.last_activity);
      codec::put_u8(out, s.status);
      codec::put_u64(out, s.index);
      codec::put_u64(out, s.revision);
      codec::put_u64(out, s.previous_mod_revision);
      codec::put_u8(out, s.has_previous);
      if (s.has_previous != 0) codec::put_bytes(out, s.previous);
    }
    out += trailing;
    codec::put_u32(out, codec::crc32c(out));
    return out;
  }
};

/// A small machine with keys, a deleted key, an overwritten key, sessions
/// with and without a cached previous value, a cached not_found and a cached
/// cas_failed. Revision 6 at index 9.
state_machine small_machine() {
  state_machine sm;
  sm.apply(1, put(0, 0, "alpha", "1"));
  sm.apply(2, put(5, 1, "beta", "2"));
  sm.apply(3, put(5, 2, "beta", "3"));  // cached previous "2"
  sm.apply(4, del(9, 1, "nothing"));    // cached not_found
  sm.apply(5, put(0, 0, "gone", "x"));
  sm.apply(6, del(0, 0, "gone"));
  sm.apply_noop(7);
  sm.apply(8, cas_put(11, 1, "alpha", "A", 7));  // cached cas_failed: alpha is at 1
  sm.apply(9, cas_put(0, 0, "alpha", "2", 1));   // alpha: created 1, modified 6
  return sm;
}

void check_bad(std::string_view bytes) {
  auto r = state_machine::restore(bytes);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == make_error_code(errc::bad_snapshot));
}

}  // namespace

TEST_CASE("serialize writes the documented layout") {
  const state_machine sm = small_machine();
  const std::string b = sm.serialize();
  raw_snapshot raw{.applied_index = 9,
                   .revision = 6,
                   .keys = {{"alpha", "2", 1, 6, 2}, {"beta", "3", 2, 3, 2}},
                   .sessions = {{.client_id = 5, .last_seq = 2, .last_activity = 3, .status = 0,
                                 .index = 3, .revision = 3, .previous_mod_revision = 2,
                                 .has_previous = 1, .previous = "2"},
                                {.client_id = 9, .last_seq = 1, .last_activity = 4, .status = 1,
                                 .index = 4, .revision = 3, .previous_mod_revision = 0,
                                 .has_previous = 0},
                                {.client_id = 11, .last_seq = 1, .last_activity = 8, .status = 5,
                                 .index = 8, .revision = 5, .previous_mod_revision = 1,
                                 .has_previous = 0}}};
  CHECK(b == raw.bytes());
  CHECK(b.starts_with(std::string_view("RKVS\x02\x09\0\0\0\0\0\0\0\x06\0\0\0\0\0\0\0", 21)));
}

TEST_CASE("restore then serialize gives the same bytes and the same state") {
  SUBCASE("empty") {
    const state_machine empty;
    auto r = state_machine::restore(empty.serialize());
    REQUIRE(r.has_value());
    CHECK(r->serialize() == empty.serialize());
    CHECK(r->applied_index() == 0);
    CHECK(r->size() == 0);
  }
  SUBCASE("small") {
    const state_machine sm = small_machine();
    auto r = state_machine::restore(sm.serialize());
    REQUIRE(r.has_value());
    CHECK(r->serialize() == sm.serialize());
    CHECK(r->same_state(sm));
    CHECK(r->applied_index() == 9);
    CHECK(r->revision() == 6);
    CHECK(r->size() == 2);
    CHECK(r->bytes() == sm.bytes());
    CHECK(r->get("beta") == raftkv::kv::key_value{"beta", "3", 2, 3, 2});
    CHECK(r->get("alpha") == raftkv::kv::key_value{"alpha", "2", 1, 6, 2});
    CHECK(r->list("", 10) == sm.list("", 10));
    CHECK(r->session_count() == 3);
    // The cached cas_failed answers a retry after the restore too.
    apply_result retry = r->apply(10, cas_put(11, 1, "alpha", "A", 7));
    CHECK(retry == apply_result{.status = apply_status::cas_failed, .previous_mod_revision = 1,
                                .revision = 5, .index = 8, .duplicate = true});
    CHECK(r->apply(11, cas_put(11, 2, "alpha", "A", 6)).status == apply_status::ok);
    CHECK(r->get("alpha") == raftkv::kv::key_value{"alpha", "A", 1, 7, 3});
  }
  SUBCASE("many keys, big values, binary bytes") {
    state_machine sm;
    for (int i = 0; i < 5000; ++i) {
      sm.apply(static_cast<std::uint64_t>(i) + 1,
               put(0, 0, "k" + std::to_string(i * 7919 % 5000) + std::string("\0\xff", 2),
                   std::string(static_cast<std::size_t>(i % 300), static_cast<char>(i))));
    }
    sm.apply(5001, put(1, 1, "big", std::string(raftkv::kv::max_value_bytes, 'b')));
    sm.apply(5002, put(1, 2, "big", "small"));  // caches a 1 MiB previous value
    const std::string b = sm.serialize();
    auto r = state_machine::restore(b);
    REQUIRE(r.has_value());
    CHECK(r->serialize() == b);
    CHECK(r->same_state(sm));
    CHECK(r->bytes() == sm.bytes());
  }
}

TEST_CASE("a restored machine continues exactly like the original") {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    CAPTURE(seed);
    const auto first = workload(seed, 300, 8);
    const auto second = workload(seed + 100, 300, 8);
    // Small enough that sessions are evicted and expire on both sides of the snapshot.
    const config cfg{.max_sessions = 5, .session_ttl_entries = 15};
    state_machine original(cfg);
    apply_all(original, first);
    auto restored = state_machine::restore(original.serialize(), cfg);
    REQUIRE(restored.has_value());
    // Retries answered from restored sessions must match too.
    CHECK(apply_all(*restored, second) == apply_all(original, second));
    CHECK(restored->serialize() == original.serialize());
  }
}

TEST_CASE("a snapshot with more sessions than the config allows is kept, then shrinks") {
  state_machine big(config{.max_sessions = 10});
  for (std::uint64_t c = 1; c <= 10; ++c) big.apply(c, put(c, 1, "k", "v"));
  auto r = state_machine::restore(big.serialize(), config{.max_sessions = 4});
  REQUIRE(r.has_value());
  CHECK(r->session_count() == 10);
  CHECK(r->serialize() == big.serialize());
  CHECK(r->apply(11, put(11, 1, "k", "v")).status == apply_status::ok);
  CHECK(r->session_count() == 4);
  // The survivors are the three most recent and the new one.
  CHECK(r->apply(12, put(7, 1, "k", "v")).status == apply_status::ok);  // 7 was evicted: reopens
  CHECK(r->apply(13, put(8, 2, "k", "v")).status == apply_status::session_expired);
  CHECK(r->apply(14, put(10, 1, "k", "v")).duplicate);
}

TEST_CASE("a snapshot's sessions idle past the ttl are kept, then expire at the next entry") {
  state_machine old(config{.session_ttl_entries = 0});
  old.apply(1, put(1, 1, "k", "v"));
  old.apply(50, put(2, 1, "k", "v"));
  old.apply_noop(100);
  CHECK(old.session_count() == 2);
  // Restored under a ttl of 60: client 1 (idle 99) is past it, client 2 (idle 50) is not.
  auto r = state_machine::restore(old.serialize(), config{.session_ttl_entries = 60});
  REQUIRE(r.has_value());
  CHECK(r->session_count() == 2);
  CHECK(r->serialize() == old.serialize());  // restore itself drops nothing
  r->apply_noop(101);
  CHECK(r->session_count() == 1);
  CHECK(r->apply(102, put(1, 2, "k", "w")).status == apply_status::session_expired);
  CHECK(r->apply(103, put(2, 1, "k", "v")).duplicate);
}

TEST_CASE("restore rejects every truncation and every corrupted byte") {
  raftkv::test::throwing_asserts guard;  // an assert would fail the test, not abort
  const std::string good = small_machine().serialize();
  REQUIRE(state_machine::restore(good).has_value());
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    check_bad(std::string_view(good).substr(0, n));
  }
  check_bad(good + '\0');
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      CAPTURE(i);
      CAPTURE(int{mask});
      std::string bad = good;
      bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
      check_bad(bad);
    }
  }
}

TEST_CASE("restore rejects forged snapshots whose checksum is right") {
  raftkv::test::throwing_asserts guard;
  REQUIRE(state_machine::restore(raw_snapshot{}.bytes()).has_value());
  using edit = std::function<void(raw_snapshot&)>;
  const std::vector<std::pair<const char*, edit>> cases = {
      {"bad magic", [](raw_snapshot& s) { s.magic = "RKVX"; }},
      {"version 0", [](raw_snapshot& s) { s.version = 0; }},
      {"version 1", [](raw_snapshot& s) { s.version = 1; }},
      {"version 3", [](raw_snapshot& s) { s.version = 3; }},
      {"revision past the applied index", [](raw_snapshot& s) { s.revision = 4; }},
      {"trailing bytes", [](raw_snapshot& s) { s.trailing = "x"; }},
      {"keys out of order", [](raw_snapshot& s) { s.keys = {{"b", "1"}, {"a", "2"}}; }},
      {"duplicate key", [](raw_snapshot& s) { s.keys = {{"a", "1"}, {"a", "2"}}; }},
      {"empty key", [](raw_snapshot& s) { s.keys = {{"", "1"}}; }},
      {"key too long", [](raw_snapshot& s) { s.keys = {{std::string(4097, 'k'), ""}}; }},
      {"value too long",
       [](raw_snapshot& s) { s.keys = {{"k", std::string(raftkv::kv::max_value_bytes + 1, 'v')}}; }},
      {"create_revision 0", [](raw_snapshot& s) { s.keys[0].create_revision = 0; }},
      {"mod_revision below create_revision",
       [](raw_snapshot& s) { s.keys[1] = {"b", "2", 2, 1, 1}; }},
      {"mod_revision past the revision", [](raw_snapshot& s) { s.keys[1].mod_revision = 3; }},
      {"version 0", [](raw_snapshot& s) { s.keys[0].version = 0; }},
      {"more versions than revisions", [](raw_snapshot& s) { s.keys[0].version = 2; }},
      {"version 2^64-1", [](raw_snapshot& s) { s.keys[0].version = ~std::uint64_t{0}; }},
      {"key count too high", [](raw_snapshot& s) { s.key_count = 3; }},
      {"key count too low", [](raw_snapshot& s) { s.key_count = 1; }},
      {"key count 2^64-1", [](raw_snapshot& s) { s.key_count = ~std::uint64_t{0}; }},
      {"client 0", [](raw_snapshot& s) { s.sessions[0].client_id = 0; }},
      {"clients out of order",
       [](raw_snapshot& s) {
         s.sessions = {{.client_id = 2, .last_activity = 3, .index = 3},
                       {.client_id = 1, .last_activity = 2, .index = 2}};
       }},
      {"same activity twice",
       [](raw_snapshot& s) {
         s.sessions = {{.client_id = 1, .last_activity = 2, .index = 2},
                       {.client_id = 2, .last_activity = 2, .index = 2}};
       }},
      {"seq 0", [](raw_snapshot& s) { s.sessions[0].last_seq = 0; }},
      {"activity past the applied index", [](raw_snapshot& s) { s.sessions[0].last_activity = 4; }},
      {"result index 0", [](raw_snapshot& s) { s.sessions[0].index = 0; }},
      {"result revision past its entry",
       [](raw_snapshot& s) {
         s.sessions[0].index = 1;
         s.sessions[0].revision = 2;
       }},
      {"result revision past the store's",
       [](raw_snapshot& s) {
         s.applied_index = 5;
         s.sessions[0].last_activity = s.sessions[0].index = 4;
         s.sessions[0].revision = 3;
       }},
      {"ok with revision 0", [](raw_snapshot& s) { s.sessions[0].revision = 0; }},
      {"ok with a previous value of revision 0",
       [](raw_snapshot& s) {
         s.sessions[0].has_previous = 1;
         s.sessions[0].previous = "p";
       }},
      {"ok with a previous value not older than the write",
       [](raw_snapshot& s) {
         s.sessions[0].has_previous = 1;
         s.sessions[0].previous_mod_revision = 2;
       }},
      {"ok without a previous value but its revision",
       [](raw_snapshot& s) { s.sessions[0].previous_mod_revision = 1; }},
      {"not_found with a previous revision",
       [](raw_snapshot& s) {
         s.sessions[0].status = 1;
         s.sessions[0].previous_mod_revision = 1;
       }},
      {"cas_failed with a previous value",
       [](raw_snapshot& s) {
         s.sessions[0].status = 5;
         s.sessions[0].previous_mod_revision = 1;
         s.sessions[0].has_previous = 1;
       }},
      {"cas_failed on a revision after its own",
       [](raw_snapshot& s) {
         s.sessions[0].status = 5;
         s.sessions[0].revision = 1;
         s.sessions[0].previous_mod_revision = 2;
       }},
      {"status session_expired", [](raw_snapshot& s) { s.sessions[0].status = 3; }},
      {"status stale_request", [](raw_snapshot& s) { s.sessions[0].status = 4; }},
      {"status 6", [](raw_snapshot& s) { s.sessions[0].status = 6; }},
      {"result after the activity", [](raw_snapshot& s) { s.sessions[0].index = 3; }},
      {"status bad_command", [](raw_snapshot& s) { s.sessions[0].status = 2; }},
      {"status 200", [](raw_snapshot& s) { s.sessions[0].status = 200; }},
      {"has_previous 2", [](raw_snapshot& s) { s.sessions[0].has_previous = 2; }},
      {"not_found with a previous value",
       [](raw_snapshot& s) {
         s.sessions[0].status = 1;
         s.sessions[0].has_previous = 1;
       }},
  };
  for (const auto& [name, change] : cases) {
    CAPTURE(name);
    raw_snapshot s;
    change(s);
    check_bad(s.bytes());
  }
  // A whole version-1 snapshot, as the first format wrote an empty machine.
  std::string v1("RKVS\x01" "\0\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0", 29);
  codec::put_u32(v1, codec::crc32c(v1));
  check_bad(v1);
}

TEST_CASE("restore accepts forged snapshots that some history could have written") {
  // The checks above are not simply stricter than serialize(): these hold.
  using edit = std::function<void(raw_snapshot&)>;
  const std::vector<std::pair<const char*, edit>> cases = {
      {"as is", [](raw_snapshot&) {}},
      {"a revision ahead of every key (the last write was a delete)", [](raw_snapshot& s) { s.revision = 3; }},
      {"a key overwritten with every revision", [](raw_snapshot& s) { s.keys[1] = {"b", "2", 1, 2, 2}; }},
      {"cached ok with a previous value",
       [](raw_snapshot& s) {
         s.sessions[0].has_previous = 1;
         s.sessions[0].previous_mod_revision = 1;
       }},
      {"cached not_found at revision 0",
       [](raw_snapshot& s) {
         s.sessions[0].status = 1;
         s.sessions[0].revision = 0;
       }},
      {"cached cas_failed on an absent key at revision 0",
       [](raw_snapshot& s) {
         s.sessions[0].status = 5;
         s.sessions[0].revision = 0;
       }},
      {"cached cas_failed on the current revision",
       [](raw_snapshot& s) {
         s.sessions[0].status = 5;
         s.sessions[0].previous_mod_revision = 2;
       }},
  };
  for (const auto& [name, change] : cases) {
    CAPTURE(name);
    raw_snapshot s;
    change(s);
    const std::string b = s.bytes();
    auto r = state_machine::restore(b);
    REQUIRE(r.has_value());
    CHECK(r->serialize() == b);
  }
}

TEST_CASE("restore without the checksum still checks the structure") {
  raftkv::test::throwing_asserts guard;
  const std::string good = small_machine().serialize();
  std::string wrong_sum = good;
  wrong_sum.back() = static_cast<char>(wrong_sum.back() ^ 0x5a);
  CHECK_FALSE(state_machine::restore(wrong_sum).has_value());
  auto trusted = state_machine::restore(wrong_sum, {}, false);
  REQUIRE(trusted.has_value());  // only the checksum was skipped
  CHECK(trusted->serialize() == good);
  for (std::size_t n = 0; n + 4 < good.size(); ++n) {
    CAPTURE(n);
    // Cut inside the body (the last four bytes are the checksum): still refused.
    std::string cut = good.substr(0, n) + good.substr(good.size() - 4);
    CHECK_FALSE(state_machine::restore(cut, {}, false).has_value());
  }
}
