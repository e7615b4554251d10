// The linearizability checker (tests/lin/history.hpp) on histories whose
// verdict is known: it must reject the classic anomalies (a stale read, a
// lost write, a value never written, a compare-and-swap against an old
// revision) and accept correct concurrent histories, unknown outcomes
// included. Times are in microseconds, written as ns * 1000.
#include "lin/history.hpp"

#include <doctest/doctest.h>

namespace {

using namespace raftkv::lin;

constexpr std::int64_t us = 1000;

operation put(int client, std::int64_t from, std::int64_t to, std::string value, std::uint64_t rev,
              op_result r = op_result::ok) {
  return {.client = client, .key = "k", .kind = op_kind::put, .value = std::move(value), .call_ns = from * us,
          .return_ns = to * us, .result = r, .out_revision = rev};
}
operation get(int client, std::int64_t from, std::int64_t to, std::string value, std::uint64_t rev) {
  return {.client = client, .key = "k", .kind = op_kind::get, .call_ns = from * us, .return_ns = to * us,
          .result = op_result::ok, .out_value = std::move(value), .out_revision = rev};
}
operation get_absent(int client, std::int64_t from, std::int64_t to) {
  return {.client = client, .key = "k", .kind = op_kind::get, .call_ns = from * us, .return_ns = to * us,
          .result = op_result::not_found};
}
operation del(int client, std::int64_t from, std::int64_t to, op_result r = op_result::ok) {
  return {.client = client, .key = "k", .kind = op_kind::del, .call_ns = from * us, .return_ns = to * us, .result = r};
}
operation cas(int client, std::int64_t from, std::int64_t to, std::uint64_t expected, std::string value,
              op_result r, std::uint64_t rev) {
  return {.client = client, .key = "k", .kind = op_kind::cas, .value = std::move(value), .expected = expected,
          .call_ns = from * us, .return_ns = to * us, .result = r, .out_revision = rev};
}

bool linearizable(const std::vector<operation>& h) { return check(h).ok(); }

std::string why(const std::vector<operation>& h) {
  const verdict v = check(h);
  return v.keys.empty() ? "" : v.keys.front().why;
}

}  // namespace

TEST_CASE("checker: sequential and overlapping histories that are linearizable pass") {
  CHECK(linearizable({}));
  CHECK(linearizable({put(1, 0, 10, "a", 1), get(2, 20, 30, "a", 1)}));
  CHECK(linearizable({get_absent(1, 0, 5), put(1, 10, 20, "a", 1), del(2, 30, 40), get_absent(1, 50, 60)}));
  // A read overlapping a write may see either side of it.
  CHECK(linearizable({put(1, 0, 10, "a", 1), put(2, 20, 40, "b", 2), get(3, 25, 30, "a", 1)}));
  CHECK(linearizable({put(1, 0, 10, "a", 1), put(2, 20, 40, "b", 2), get(3, 25, 30, "b", 2)}));
  // Two overlapping reads of one write in flight: the later-finishing write order fits.
  CHECK(linearizable({put(1, 0, 100, "a", 1), get(2, 10, 20, "a", 1), get(3, 30, 40, "a", 1)}));
  // Concurrent writes in the order their revisions say, not their start order.
  CHECK(linearizable({put(1, 0, 50, "a", 2), put(2, 5, 45, "b", 1), get(3, 60, 70, "a", 2)}));
}

TEST_CASE("checker: a stale read is caught") {
  const std::vector<operation> h = {put(1, 0, 10, "a", 1), put(1, 20, 30, "b", 2), get(2, 40, 50, "a", 1)};
  CHECK_FALSE(linearizable(h));
  CHECK(why(h).find("get(k) -> ok 'a'") != std::string::npos);
}

TEST_CASE("checker: a lost write is caught") {
  // Acknowledged, never overwritten, and then the key reads as absent.
  const std::vector<operation> h = {put(1, 0, 10, "a", 1), get_absent(2, 20, 30)};
  CHECK_FALSE(linearizable(h));
  CHECK(lost_writes(h, {{"k", std::nullopt}}).size() == 1);
  // The same write followed by a delete that may come after it is not lost.
  const std::vector<operation> ok = {put(1, 0, 10, "a", 1), del(2, 5, 15), get_absent(2, 20, 30)};
  CHECK(linearizable(ok));
  CHECK(lost_writes(ok, {{"k", std::nullopt}}).empty());
  // A final value equal to the write is not lost either.
  CHECK(lost_writes({put(1, 0, 10, "a", 1)}, {{"k", std::string("a")}}).empty());
}

TEST_CASE("checker: a read of a value never written is caught") {
  const std::vector<operation> h = {put(1, 0, 10, "a", 1), get(2, 20, 30, "zzz", 7)};
  CHECK_FALSE(linearizable(h));
  CHECK(why(h).find("never written") != std::string::npos);
}

TEST_CASE("checker: answers that contradict each other's revisions are caught") {
  CHECK_FALSE(linearizable({put(1, 0, 10, "a", 1), get(2, 20, 30, "a", 5)}));
  // Revisions only grow along the order of writes.
  CHECK_FALSE(linearizable({put(1, 0, 10, "a", 5), put(1, 20, 30, "b", 3), get(2, 40, 50, "b", 3)}));
}

TEST_CASE("checker: compare-and-swap is judged against the revision of the value held") {
  // Expecting the current revision succeeds; expecting an old one fails.
  CHECK(linearizable({put(1, 0, 10, "a", 1), cas(2, 20, 30, 1, "b", op_result::ok, 2), get(1, 40, 50, "b", 2)}));
  CHECK(linearizable({put(1, 0, 10, "a", 1), put(1, 11, 19, "b", 2),
                      cas(2, 20, 30, 1, "c", op_result::cas_failed, 2), get(1, 40, 50, "b", 2)}));
  CHECK(linearizable({cas(1, 0, 10, 0, "a", op_result::ok, 1), cas(2, 20, 30, 0, "b", op_result::cas_failed, 1)}));
  // A successful swap against a revision that was already replaced is a bug.
  CHECK_FALSE(linearizable({put(1, 0, 10, "a", 1), put(1, 11, 19, "b", 2),
                            cas(2, 20, 30, 1, "c", op_result::ok, 3)}));
  // A failure that reports a current revision other than the key's is a bug.
  CHECK_FALSE(linearizable({put(1, 0, 10, "a", 1), cas(2, 20, 30, 7, "c", op_result::cas_failed, 9)}));
  // Two swaps from absent cannot both succeed.
  CHECK_FALSE(linearizable({cas(1, 0, 10, 0, "a", op_result::ok, 1), cas(2, 20, 30, 0, "b", op_result::ok, 2)}));
}

TEST_CASE("checker: unknown outcomes may apply later, or never") {
  // Never observed: fine either way.
  CHECK(linearizable({put(1, 0, 0, "a", 0, op_result::unknown), get_absent(2, 20, 30)}));
  // Observed long after its client gave up: it applied late.
  CHECK(linearizable({put(1, 0, 10, "a", 0, op_result::unknown), get_absent(2, 20, 30), get(2, 40, 50, "a", 1)}));
  // But an unknown write cannot take effect before it was invoked.
  CHECK_FALSE(linearizable({get(2, 0, 10, "a", 1), put(1, 20, 0, "a", 0, op_result::unknown)}));
  // And it applies at most once: a value cannot come back after it was overwritten.
  CHECK_FALSE(linearizable({put(1, 0, 0, "a", 0, op_result::unknown), get(2, 10, 20, "a", 1),
                            put(2, 30, 40, "b", 2), get(2, 50, 60, "a", 1)}));
  // An unknown delete may or may not have happened.
  CHECK(linearizable({put(1, 0, 10, "a", 1), del(2, 20, 0, op_result::unknown), get(1, 30, 40, "a", 1)}));
  CHECK(linearizable({put(1, 0, 10, "a", 1), del(2, 20, 0, op_result::unknown), get_absent(1, 30, 40)}));
}

TEST_CASE("checker: keys are checked apart and each verdict names its key") {
  std::vector<operation> h = {put(1, 0, 10, "a", 1), get(2, 20, 30, "a", 1)};
  operation other = put(1, 0, 10, "x", 2);
  other.key = "j";
  operation stale = get_absent(2, 20, 30);
  stale.key = "j";
  h.push_back(other);
  h.push_back(stale);
  const verdict v = check(h);
  CHECK(v.operations == 4);
  CHECK(v.violations == 1);
  REQUIRE(v.keys.size() == 2);
  CHECK(v.keys[0].key == "j");
  CHECK_FALSE(v.keys[0].linearizable);
  CHECK(v.keys[1].linearizable);
}

TEST_CASE("checker: many concurrent clients on one key stay tractable") {
  // 6 clients, 30,000 operations, each client's writes overlapping the others';
  // every read sees the write with the highest revision finished before it.
  std::vector<operation> h;
  std::uint64_t rev = 0;
  std::string latest;
  for (int round = 0; round < 5000; ++round) {
    const std::int64_t t = round * 100;
    for (int c = 0; c < 5; ++c) {
      const std::string value = "v" + std::to_string(round) + "-" + std::to_string(c);
      h.push_back(put(c, t + c, t + 50 + c, value, ++rev));
      latest = value;
    }
    h.push_back(get(5, t + 60, t + 70, latest, rev));
  }
  const verdict v = check(h);
  CHECK(v.ok());
  CHECK(v.operations == 30000);
  // And one stale read among them is still found.
  h.push_back(get(5, 5000 * 100 + 10, 5000 * 100 + 20, "v0-0", 1));
  CHECK_FALSE(check(h).ok());
}
