// Unit tests of the client's routing and retry policy (client/routing.hpp),
// without sockets: endpoints, the router's decisions after each kind of
// answer, backoff bounds, hop limits, which write attempts may have applied,
// outcomes, and the trace text.
#include <raftkv/client/routing.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace raftkv::client;
using namespace std::chrono_literals;

endpoint ep(std::uint16_t port) { return {"127.0.0.1", port}; }

const std::vector<endpoint> three = {ep(7001), ep(7002), ep(7003)};

attempt answered(int status, std::string error = {}) {
  return {.result = wire::answered, .sent = true, .status = status, .error = std::move(error)};
}

attempt redirect_to(const endpoint& to) {
  attempt a = answered(307, "not_leader");
  a.location = to.url() + "/v1/kv/k";
  a.leader_url = to.url();
  return a;
}

routing_policy policy(std::size_t max_hops = 64) {
  return {.backoff_base = 40ms, .backoff_max = 1000ms, .max_hops = max_hops};
}

}  // namespace

TEST_CASE("parse_endpoint takes host:port and http URLs, nothing else") {
  struct row {
    const char* text;
    std::optional<endpoint> want;
  };
  const std::vector<row> rows = {
      {"127.0.0.1:7001", endpoint{"127.0.0.1", 7001}},
      {"localhost:1", endpoint{"localhost", 1}},
      {"http://127.0.0.1:7003", endpoint{"127.0.0.1", 7003}},
      {"http://127.0.0.1:7003/v1/kv/a%2Fb?cas=3", endpoint{"127.0.0.1", 7003}},
      {"http://node3:7003?x=1", endpoint{"node3", 7003}},
      {"[::1]:7001", endpoint{"::1", 7001}},
      {"http://[::1]:7001/v1/status", endpoint{"::1", 7001}},
      {"127.0.0.1", std::nullopt},
      {"127.0.0.1:", std::nullopt},
      {":7001", std::nullopt},
      {"127.0.0.1:0", std::nullopt},
      {"127.0.0.1:65536", std::nullopt},
      {"127.0.0.1:70x1", std::nullopt},
      {"https://127.0.0.1:7001", std::nullopt},
      {"::1:7001", std::nullopt},
      {"a b:7001", std::nullopt},
      {"", std::nullopt},
  };
  for (const row& r : rows) {
    CAPTURE(r.text);
    CHECK(parse_endpoint(r.text) == r.want);
  }
  CHECK(endpoint{"::1", 7001}.str() == "[::1]:7001");
  CHECK(endpoint{"127.0.0.1", 7001}.url() == "http://127.0.0.1:7001");
}

TEST_CASE("parse_peer_list: a comma-separated list of distinct endpoints") {
  CHECK(parse_peer_list("127.0.0.1:7001,127.0.0.1:7002,,127.0.0.1:7003") == three);
  CHECK_THROWS_AS(parse_peer_list(""), std::invalid_argument);
  CHECK_THROWS_AS(parse_peer_list(","), std::invalid_argument);
  CHECK_THROWS_AS(parse_peer_list("127.0.0.1:7001,127.0.0.1:7001"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_peer_list("127.0.0.1:7001,1=127.0.0.1:6001x"),
                       "expected HOST:PORT in the peer list, got '1=127.0.0.1:6001x'", std::invalid_argument);
}

TEST_CASE("the first attempt goes to the leader hint, else to the first peer") {
  CHECK(router(policy(), three, std::nullopt, 1, false).target() == ep(7001));
  CHECK(router(policy(), three, ep(7002), 1, false).target() == ep(7002));
  CHECK(router(policy(), three, ep(9999), 1, false).target() == ep(9999));
}

TEST_CASE("a definite answer is done; only a write's 2xx names the leader") {
  for (int status : {200, 404, 409, 412, 400, 413}) {
    CAPTURE(status);
    router w(policy(), three, std::nullopt, 1, true);
    const decision d = w.next(answered(status));
    CHECK(d.what == action::done);
    CHECK(w.leader_hint() == (status == 200 ? std::optional<endpoint>(ep(7001)) : std::nullopt));
    CHECK_FALSE(w.maybe_applied());
  }
  router r(policy(), three, std::nullopt, 1, false);
  CHECK(r.next(answered(200)).what == action::done);
  CHECK_FALSE(r.leader_hint());  // a follower serves reads too
}

TEST_CASE("a 307 is followed to exactly the host and port it names") {
  SUBCASE("Location") {
    router r(policy(), three, std::nullopt, 1, true);
    attempt a = answered(307, "not_leader");
    a.location = "http://127.0.0.1:7003/v1/kv/k";
    const decision d = r.next(a);
    CHECK(d.what == action::follow);
    CHECK(d.next == ep(7003));  // not 8003: no port offset is ever added
    CHECK(d.wait == 0ms);
    CHECK(r.target() == ep(7003));
    CHECK(r.leader_hint() == ep(7003));
  }
  SUBCASE("leader_url when there is no Location") {
    router r(policy(), three, std::nullopt, 1, true);
    attempt a = answered(307, "not_leader");
    a.leader_url = "http://10.0.0.9:17002";
    const decision d = r.next(a);
    CHECK(d.what == action::follow);
    CHECK(d.next == endpoint{"10.0.0.9", 17002});
  }
  SUBCASE("neither usable: back off and try the next node") {
    router r(policy(), three, std::nullopt, 1, true);
    attempt a = answered(307, "not_leader");
    a.location = "/relative/path";
    const decision d = r.next(a);
    CHECK(d.what == action::retry);
    CHECK(d.next == ep(7002));
    CHECK(d.wait > 0ms);
  }
}

TEST_CASE("a redirect chain is followed hop by hop") {
  router r(policy(), three, std::nullopt, 1, true);
  CHECK(r.next(redirect_to(ep(7002))).what == action::follow);
  CHECK(r.next(redirect_to(ep(7003))).what == action::follow);
  CHECK(r.target() == ep(7003));
  CHECK(r.next(answered(200)).what == action::done);
  CHECK(r.leader_hint() == ep(7003));
  CHECK(r.hops() == 3);
}

TEST_CASE("a redirect back into the chain is a loop: back off, then the next node") {
  router r(policy(), three, std::nullopt, 1, true);
  CHECK(r.next(redirect_to(ep(7002))).what == action::follow);
  const decision d = r.next(redirect_to(ep(7001)));
  CHECK(d.what == action::retry);
  CHECK(d.next == ep(7003));
  CHECK(d.wait > 0ms);
  CHECK(r.loop() == "127.0.0.1:7001 → 127.0.0.1:7002 → 127.0.0.1:7001");
  CHECK(d.reason == "redirect loop: " + r.loop());
  SUBCASE("a node redirecting to itself is a loop too") {
    CHECK(r.next(redirect_to(ep(7003))).what == action::retry);
  }
  SUBCASE("after the backoff a new chain starts: the old loop's nodes may be visited again") {
    CHECK(r.next(redirect_to(ep(7001))).what == action::follow);
  }
}

TEST_CASE("503, 5xx, refused, dropped and timed-out attempts back off and try the next node") {
  struct row {
    const char* what;
    attempt a;
  };
  const std::vector<row> rows = {
      {"503 no_leader", answered(503, "no_leader")},
      {"503 busy", answered(503, "busy")},
      {"504 outcome_unknown", answered(504, "outcome_unknown")},
      {"500", answered(500, "internal")},
      {"429", answered(429)},
      {"refused", {.result = wire::refused}},
      {"timed out before sending", {.result = wire::timed_out}},
      {"timed out after sending", {.result = wire::timed_out, .sent = true}},
      {"dropped", {.result = wire::dropped, .sent = true}},
  };
  for (const row& r : rows) {
    CAPTURE(r.what);
    router rt(policy(), three, ep(7002), 7, false);
    const decision d = rt.next(r.a);
    CHECK(d.what == action::retry);
    CHECK(d.next == ep(7003));  // the one after the node that failed
    CHECK(d.wait >= 20ms);
    CHECK(d.wait <= 40ms);
    CHECK_FALSE(rt.leader_hint());  // the hint failed: forgotten
    CHECK(rt.next(r.a).next == ep(7001));
    CHECK(rt.next(r.a).next == ep(7002));  // round and round
  }
}

TEST_CASE("a redirect to a dead node: the hint is dropped and the next node tried") {
  router r(policy(), three, std::nullopt, 1, true);
  const endpoint dead{"127.0.0.1", 7999};
  CHECK(r.next(redirect_to(dead)).what == action::follow);
  CHECK(r.leader_hint() == dead);
  const decision d = r.next({.result = wire::refused});
  CHECK(d.what == action::retry);
  CHECK(d.next == ep(7002));  // the peer after the last one tried in turn
  CHECK_FALSE(r.leader_hint());
  CHECK_FALSE(r.maybe_applied());  // nothing was sent to the dead node
}

TEST_CASE("backoff: equal jitter, doubling, capped") {
  raftkv::core::detail::prng rng(42);
  const routing_policy p = policy();
  for (int i = 0; i < 200; ++i) {
    for (std::size_t n = 1; n <= 8; ++n) {
      CAPTURE(n);
      const auto cap = std::min<std::int64_t>(40LL << (n - 1), 1000);
      const auto w = backoff(p, n, rng).count();
      CHECK(w >= cap / 2);
      CHECK(w <= cap);
    }
  }
  CHECK(backoff(p, 10000, rng) <= 1000ms);  // no overflow for a long outage
  CHECK(backoff({.backoff_base = 0ms, .backoff_max = 0ms, .max_hops = 1}, 3, rng) == 0ms);
}

TEST_CASE("max_hops ends every request, a redirect loop included") {
  SUBCASE("failures") {
    router r(policy(3), three, std::nullopt, 1, false);
    CHECK(r.next(answered(503, "no_leader")).what == action::retry);
    CHECK(r.next(answered(503, "no_leader")).what == action::retry);
    const decision d = r.next(answered(503, "no_leader"));
    CHECK(d.what == action::give_up);
    CHECK(d.reason == "gave up after 3 attempts; last: 127.0.0.1:7003: 503 no_leader");
  }
  SUBCASE("a loop that never ends") {
    router r(policy(5), {ep(7001), ep(7002)}, std::nullopt, 1, true);
    decision d;
    std::size_t steps = 0;
    do {
      d = r.next(redirect_to(r.target() == ep(7001) ? ep(7002) : ep(7001)));
      ++steps;
    } while (d.what != action::give_up && steps < 100);
    CHECK(steps == 5);
    CHECK(d.what == action::give_up);
    CHECK(d.reason.find("redirect loop") != std::string::npos);
    CHECK_FALSE(r.maybe_applied());  // a 307 promises the write was not proposed
  }
  SUBCASE("a redirect at the limit") {
    router r(policy(1), three, std::nullopt, 1, true);
    const decision d = r.next(redirect_to(ep(7002)));
    CHECK(d.what == action::give_up);
    CHECK(d.reason == "gave up after 1 attempt; last: redirected again, to 127.0.0.1:7002");
  }
}

TEST_CASE("a write attempt may have applied after a 504, a 5xx or a timeout or drop after sending") {
  struct row {
    const char* what;
    attempt a;
    bool ambiguous;
  };
  const std::vector<row> rows = {
      {"200", answered(200), false},
      {"307", answered(307, "not_leader"), false},
      {"503 (not proposed, docs/api.md)", answered(503, "no_leader"), false},
      {"504 outcome_unknown", answered(504, "outcome_unknown"), true},
      {"504 timeout", answered(504, "timeout"), true},
      {"500", answered(500), true},
      {"refused", {.result = wire::refused}, false},
      {"timed out connecting", {.result = wire::timed_out, .sent = false}, false},
      {"timed out waiting", {.result = wire::timed_out, .sent = true}, true},
      {"dropped while writing", {.result = wire::dropped, .sent = false}, false},
      {"dropped while waiting", {.result = wire::dropped, .sent = true}, true},
  };
  for (const row& r : rows) {
    CAPTURE(r.what);
    CHECK(is_ambiguous(r.a) == r.ambiguous);
    router w(policy(), three, std::nullopt, 1, true);
    w.next(r.a);
    CHECK(w.maybe_applied() == r.ambiguous);
    w.next(answered(503, "no_leader"));
    CHECK(w.maybe_applied() == r.ambiguous);  // never forgotten
    router rd(policy(), three, std::nullopt, 1, false);
    rd.next(r.a);
    CHECK_FALSE(rd.maybe_applied());  // reads apply nothing
  }
}

TEST_CASE("classify: the outcome of a definite answer") {
  struct row {
    int status;
    const char* error;
    outcome want;
  };
  const std::vector<row> rows = {
      {200, "", outcome::ok},
      {404, "key_not_found", outcome::not_found},
      {404, "not_found", outcome::rejected},  // an unknown route is not an absent key
      {412, "cas_failed", outcome::cas_failed},
      {409, "session_expired", outcome::rejected},
      {409, "stale_request", outcome::rejected},
      {400, "bad_key", outcome::rejected},
      {413, "value_too_large", outcome::rejected},
      {302, "", outcome::failed},
      {100, "", outcome::failed},
  };
  for (const row& r : rows) {
    CAPTURE(r.status);
    CAPTURE(r.error);
    CHECK(classify(r.status, r.error) == r.want);
  }
}

TEST_CASE("the trace reads like the issue's example") {
  hop redirect{.target = ep(7001), .node = 1, .result = wire::answered, .status = 307, .error = "not_leader",
               .hint_node = 3, .hint_url = "http://127.0.0.1:7003/v1/kv/k"};
  hop ok{.target = ep(7003), .node = 3, .result = wire::answered, .status = 200, .revision = 42};
  CHECK(format_trace({redirect, ok}, 3.14) == "→ node 1: 307 not leader (hint 3) → node 3: 200 OK rev 42 · 3.1 ms");

  hop refused{.target = ep(7002), .result = wire::refused, .error = "Connection refused", .wait = 48ms};
  CHECK(describe(refused) == "127.0.0.1:7002: connection refused, retry in 48 ms");
  hop timeout{.target = ep(7002), .node = 2, .result = wire::timed_out, .error = "timed out after 3000 ms"};
  CHECK(describe(timeout) == "node 2: timed out after 3000 ms");
  hop no_leader{.target = ep(7002), .node = 2, .result = wire::answered, .status = 503, .error = "no_leader"};
  CHECK(describe(no_leader) == "node 2: 503 no leader");
  hop unnamed{.target = ep(7002), .result = wire::answered, .status = 307, .hint_url = "http://h:1/"};
  CHECK(describe(unnamed) == "127.0.0.1:7002: 307 (to http://h:1/)");
  CHECK(format_trace({}, 0) == "no attempt · 0.0 ms");
}
