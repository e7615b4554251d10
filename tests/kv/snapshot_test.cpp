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
using raftkv::kv::test::del;
using raftkv::kv::test::put;
using raftkv::kv::test::workload;
namespace codec = raftkv::kv::detail;

/// A snapshot written field by field, independent of serialize(), so tests
/// can forge ones whose checksum is right but whose content is not.
struct raw_snapshot {
  struct session {
    std::uint64_t client_id = 1, last_seq = 1, last_activity = 2;
    std::uint8_t status = 0;
    std::uint64_t index = 2;
    std::uint8_t has_previous = 0;
    std::string previous{};
  };
  std::string magic = "RKVS";
  std::uint8_t version = 1;
  std::uint64_t applied_index = 3;
  std::vector<std::pair<std::string, std::string>> keys = {{"a", "1"}, {"b", "2"}};
  std::optional<std::uint64_t> key_count{};  ///< forged count; keys.size() when empty
  std::vector<session> sessions = {session{}};
  std::string trailing{};

  std::string bytes() const {
    std::string out = magic;
    codec::put_u8(out, version);
    codec::put_u64(out, applied_index);
    codec::put_u64(out, key_count.value_or(keys.size()));
    for (const auto& [k, v] : keys) {
      codec::put_bytes(out, k);
      codec::put_bytes(out, v);
    }
    codec::put_u64(out, sessions.size());
    for (const session& s : sessions) {
      codec::put_u64(out, s.client_id);
      codec::put_u64(out, s.last_seq);
      codec::put_u64(out, s.last_activity);
      codec::put_u8(out, s.status);
      codec::put_u64(out, s.index);
      codec::put_u8(out, s.has_previous);
      if (s.has_previous != 0) codec::put_bytes(out, s.previous);
    }
    out += trailing;
    codec::put_u32(out, codec::crc32c(out));
    return out;
  }
};

/// A small machine with keys, a deleted key, sessions with and without a
/// cached previous value, and a cached not_found.
state_machine small_machine() {
  state_machine sm;
  sm.apply(1, put(0, 0, "alpha", "1"));
  sm.apply(2, put(5, 1, "beta", "2"));
  sm.apply(3, put(5, 2, "beta", "3"));  // cached previous "2"
  sm.apply(4, del(9, 1, "nothing"));    // cached not_found
  sm.apply(5, put(0, 0, "gone", "x"));
  sm.apply(6, del(0, 0, "gone"));
  sm.apply_noop(7);
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
  raw_snapshot raw{.applied_index = 7,
                   .keys = {{"alpha", "1"}, {"beta", "3"}},
                   .sessions = {{.client_id = 5, .last_seq = 2, .last_activity = 3, .status = 0,
                                 .index = 3, .has_previous = 1, .previous = "2"},
                                {.client_id = 9, .last_seq = 1, .last_activity = 4, .status = 1,
                                 .index = 4, .has_previous = 0}}};
  CHECK(b == raw.bytes());
  CHECK(b.starts_with(std::string_view("RKVS\x01\x07\0\0\0\0\0\0\0", 13)));
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
    CHECK(r->applied_index() == 7);
    CHECK(r->size() == 2);
    CHECK(r->bytes() == sm.bytes());
    CHECK(r->get("beta") == "3");
    CHECK(r->session_count() == 2);
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
    state_machine original(config{.max_sessions = 5});
    apply_all(original, first);
    auto restored = state_machine::restore(original.serialize(), config{.max_sessions = 5});
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
      {"version 2", [](raw_snapshot& s) { s.version = 2; }},
      {"trailing bytes", [](raw_snapshot& s) { s.trailing = "x"; }},
      {"keys out of order", [](raw_snapshot& s) { s.keys = {{"b", "1"}, {"a", "2"}}; }},
      {"duplicate key", [](raw_snapshot& s) { s.keys = {{"a", "1"}, {"a", "2"}}; }},
      {"empty key", [](raw_snapshot& s) { s.keys = {{"", "1"}}; }},
      {"key too long", [](raw_snapshot& s) { s.keys = {{std::string(4097, 'k'), ""}}; }},
      {"value too long",
       [](raw_snapshot& s) { s.keys = {{"k", std::string(raftkv::kv::max_value_bytes + 1, 'v')}}; }},
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
}
