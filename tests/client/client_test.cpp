// Tests of raftkv::client (client/client.hpp) against scripted fake servers on
// loopback (fake_server.hpp): redirect chains, a redirect to a dead node, no
// leader, attempt timeouts, a redirect loop, the overall deadline, the
// session headers of retried writes, keep-alive, status of every node. One
// io_context, run until the request ends; timeouts are short real ones.
#include "client/fake_server.hpp"

#include <raftkv/client/client.hpp>

#include "support/asio_await.hpp"

#include <doctest/doctest.h>

#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace raftkv::client;
using raftkv::test::dead_endpoint;
using raftkv::test::fake_server;
using raftkv::test::scripted;
using raftkv::test::seen_request;
using namespace std::chrono_literals;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  return raftkv::test::run_until(io, done, limit, 2ms);
}

template <class T>
T await(asio::io_context& io, asio::awaitable<T> op, std::chrono::milliseconds limit = 10s) {
  return raftkv::test::await(io, std::move(op), limit);
}

/// Fast timers for tests.
options fast(std::vector<endpoint> peers) {
  options o;
  o.peers = std::move(peers);
  o.deadline = 3s;
  o.attempt_timeout = 1s;
  o.backoff_base = 5ms;
  o.backoff_max = 20ms;
  o.seed = 1;
  return o;
}

double ms_since(clock_type::time_point t) { return std::chrono::duration<double, std::milli>(clock_type::now() - t).count(); }

}  // namespace

TEST_CASE("a redirect chain is followed to the leader, which later requests go to first") {
  asio::io_context io;
  fake_server n1(io), n2(io), n3(io);
  n1.script([&](const seen_request& r, std::size_t) { return scripted::redirect(n2.where(), 2, 1, r.target); });
  n2.script([&](const seen_request& r, std::size_t) { return scripted::redirect(n3.where(), 3, 2, r.target); });
  n3.script([](const seen_request&, std::size_t n) {
    return scripted::ok({{"node", 3}, {"revision", 42 + n}, {"duplicate", false}});
  });
  client c(io.get_executor(), fast({n1.where(), n2.where(), n3.where()}));

  const answer a = await(io, c.put("k", "v"));
  REQUIRE(a.ok());
  REQUIRE(a.hops.size() == 3);
  CHECK(a.hops[0].status == 307);
  CHECK(a.hops[0].hint_node == 2);
  CHECK(a.hops[1].node == 2);  // learned from node 1's redirect
  CHECK(a.hops[2].target == n3.where());
  const std::string trace = format_trace(a.hops, a.elapsed_ms);
  CAPTURE(trace);
  CHECK(trace.starts_with("→ node 1: 307 not leader (hint 2) → node 2: 307 not leader (hint 3) → "
                          "node 3: 200 OK rev 42 · "));
  CHECK(c.leader_hint() == n3.where());
  REQUIRE(n3.requests().size() == 1);
  CHECK(n3.requests()[0].method == "PUT");
  CHECK(n3.requests()[0].target == "/v1/kv/k");
  CHECK(n3.requests()[0].body == "v");

  const answer b = await(io, c.get("k"));
  CHECK(b.ok());
  CHECK(b.hops.size() == 1);  // straight to the leader
  CHECK(n1.requests().size() == 1);
  CHECK(n3.requests().size() == 2);
  // Keys are URL-encoded; the server decodes them.
  const answer odd = await(io, c.get("a/b c+d"));
  CHECK(odd.ok());
  CHECK(n3.requests().back().target == "/v1/kv/a%2Fb%20c%2Bd");
}

TEST_CASE("a redirect to a dead node: the client moves on and the request still ends") {
  asio::io_context io;
  fake_server n1(io), n2(io);
  const endpoint dead = dead_endpoint(io);
  n1.script([&](const seen_request& r, std::size_t) { return scripted::redirect(dead, 9, 1, r.target); });

  SUBCASE("another node answers") {
    n2.script([](const seen_request&, std::size_t) { return scripted::ok({{"node", 2}, {"revision", 5}}); });
    client c(io.get_executor(), fast({n1.where(), n2.where()}));
    const answer a = await(io, c.put("k", "v"));
    REQUIRE(a.ok());
    REQUIRE(a.hops.size() == 3);
    CHECK(a.hops[1].target == dead);
    CHECK(a.hops[1].node == 9);
    CHECK(a.hops[1].result == wire::refused);
    CHECK(a.hops[1].wait > 0ms);
    CHECK(a.hops[2].target == n2.where());
    CHECK(c.leader_hint() == n2.where());
  }
  SUBCASE("every node points at the dead one: unavailable at the deadline, nothing applied") {
    n2.script([&](const seen_request& r, std::size_t) { return scripted::redirect(dead, 9, 2, r.target); });
    options o = fast({n1.where(), n2.where()});
    o.deadline = 500ms;
    o.max_hops = 10000;  // the deadline, not the hop limit, ends this one
    client c(io.get_executor(), o);
    const auto t0 = clock_type::now();
    const answer a = await(io, c.put("k", "v"));
    CHECK(ms_since(t0) >= 450);
    CHECK(ms_since(t0) < 2500);  // ends at the deadline (the slack is for a loaded machine)
    CHECK(a.result == outcome::unavailable);
    CHECK(a.error == "deadline_exceeded");
    CHECK_FALSE(a.maybe_applied);
    CHECK(a.message.starts_with("cluster unavailable: no definite answer within 500 ms"));
    // The only leader anyone named is the dead node: the client believes no
    // one, or (when the deadline fell between a redirect and following it)
    // that last word, never a live node that did not lead.
    CHECK((!c.leader_hint() || *c.leader_hint() == dead));
  }
}

TEST_CASE("503 no_leader: back off, try again, succeed") {
  asio::io_context io;
  fake_server n1(io);
  n1.script([](const seen_request&, std::size_t n) {
    return n < 2 ? scripted::error(503, "no_leader", 1) : scripted::ok({{"node", 1}, {"value", "v"}});
  });
  client c(io.get_executor(), fast({n1.where()}));
  const answer a = await(io, c.get("k", consistency::stale));
  REQUIRE(a.ok());
  REQUIRE(a.hops.size() == 3);
  CHECK(a.hops[0].error == "no_leader");
  CHECK(a.hops[0].wait >= 2ms);  // base 5 ms, equal jitter
  CHECK(a.hops[1].wait >= 5ms);  // the second backoff: [5, 10] ms
  CHECK(describe(a.hops[0]).starts_with("node 1: 503 no leader, retry in "));
  CHECK(n1.requests()[2].target == "/v1/kv/k?consistency=stale");
}

TEST_CASE("an attempt that times out moves on to the next node") {
  asio::io_context io;
  fake_server slow(io), good(io);
  slow.script([](const seen_request&, std::size_t) { return scripted::hang(); });
  good.script([](const seen_request&, std::size_t) { return scripted::ok({{"node", 2}, {"revision", 3}}); });
  options o = fast({slow.where(), good.where()});
  o.attempt_timeout = 200ms;
  o.client_id = 4242;
  client c(io.get_executor(), o);
  const auto t0 = clock_type::now();
  const answer a = await(io, c.put("k", "v"));
  REQUIRE(a.ok());
  CHECK(ms_since(t0) >= 190);
  CHECK(ms_since(t0) < 2500);
  REQUIRE(a.hops.size() == 2);
  CHECK(a.hops[0].result == wire::timed_out);
  CHECK(a.hops[0].error == "timed out after 200 ms");
  CHECK(a.maybe_applied);  // the slow node had the write: it may still apply it
  // ... which is why the retry carried the same session and sequence number.
  REQUIRE(slow.requests().size() == 1);
  REQUIRE(good.requests().size() == 1);
  CHECK(slow.requests()[0].header("x-raftkv-client") == "4242");
  CHECK(good.requests()[0].header("x-raftkv-client") == "4242");
  CHECK(slow.requests()[0].header("x-raftkv-seq") == "1");
  CHECK(good.requests()[0].header("x-raftkv-seq") == "1");
}

TEST_CASE("a redirect loop ends with a clear error after max_hops") {
  asio::io_context io;
  fake_server n1(io), n2(io);
  n1.script([&](const seen_request& r, std::size_t) { return scripted::redirect(n2.where(), 2, 1, r.target); });
  n2.script([&](const seen_request& r, std::size_t) { return scripted::redirect(n1.where(), 1, 2, r.target); });
  options o = fast({n1.where(), n2.where()});
  o.max_hops = 6;
  client c(io.get_executor(), o);
  const answer a = await(io, c.put("k", "v"));
  CHECK(a.result == outcome::unavailable);  // every 307 promised "not proposed"
  CHECK(a.error == "gave_up");
  CHECK(a.hops.size() == 6);
  CAPTURE(a.message);
  CHECK(a.message.starts_with("cluster unavailable: gave up after 6 attempts"));
  CHECK(a.message.find("redirect loop: " + n1.where().str() + " → " + n2.where().str() + " → " + n1.where().str()) !=
        std::string::npos);
}

TEST_CASE("the overall deadline ends a request nobody answers") {
  asio::io_context io;
  fake_server n1(io), n2(io);
  for (fake_server* s : {&n1, &n2}) s->script([](const seen_request&, std::size_t) { return scripted::hang(); });
  options o = fast({n1.where(), n2.where()});
  o.deadline = 700ms;
  o.attempt_timeout = 300ms;
  client c(io.get_executor(), o);

  SUBCASE("a read: unavailable") {
    const auto t0 = clock_type::now();
    const answer a = await(io, c.get("k"));
    CHECK(ms_since(t0) >= 690);
    CHECK(ms_since(t0) < 2500);
    CHECK(a.result == outcome::unavailable);
    CHECK(a.error == "deadline_exceeded");
    CHECK(a.hops.size() >= 3);  // 300 + 300 + what is left
  }
  SUBCASE("a write that reached a node: outcome unknown") {
    const answer a = await(io, c.put("k", "v"));
    CHECK(a.result == outcome::outcome_unknown);
    CHECK(a.message.starts_with("outcome unknown (the write may or may not have been applied)"));
  }
  SUBCASE("a write that only met 503s: unavailable, not applied") {
    for (fake_server* s : {&n1, &n2}) {
      s->script([](const seen_request&, std::size_t) { return scripted::error(503, "no_leader", 1); });
    }
    const auto t0 = clock_type::now();
    const answer a = await(io, c.put("k", "v"));
    CHECK(ms_since(t0) < 2500);
    CHECK(a.result == outcome::unavailable);
    CHECK_FALSE(a.maybe_applied);
  }
}

TEST_CASE("a retried write keeps its client id and sequence number; a duplicate answer is success") {
  asio::io_context io;
  fake_server n1(io);
  options o = fast({n1.where()});
  o.client_id = 77;
  client c(io.get_executor(), o);

  SUBCASE("504 outcome_unknown, then the duplicate answer") {
    n1.script([](const seen_request&, std::size_t n) {
      if (n == 0) return scripted::error(504, "outcome_unknown", 1);
      return scripted::ok({{"node", 1}, {"revision", 7}, {"duplicate", n == 1}});
    });
  }
  SUBCASE("the connection drops after the request was sent") {
    n1.script([](const seen_request&, std::size_t n) {
      if (n == 0) return scripted::close();
      return scripted::ok({{"node", 1}, {"revision", 7}, {"duplicate", n == 1}});
    });
  }
  const answer a = await(io, c.put("k", "v"));
  REQUIRE(a.ok());
  CHECK(a.body["duplicate"] == true);
  CHECK(a.maybe_applied);
  CHECK(a.client_id == 77);
  CHECK(a.seq == 1);
  const answer b = await(io, c.put("k2", "v2"));
  REQUIRE(b.ok());
  const auto& seen = n1.requests();
  REQUIRE(seen.size() == 3);
  for (const auto& r : seen) CHECK(r.header("x-raftkv-client") == "77");
  CHECK(seen[0].header("x-raftkv-seq") == "1");
  CHECK(seen[1].header("x-raftkv-seq") == "1");  // the retry
  CHECK(seen[2].header("x-raftkv-seq") == "2");  // the next write
  CHECK(seen[1].target == "/v1/kv/k");
  CHECK(seen[2].target == "/v1/kv/k2");
}

TEST_CASE("a write whose session expired") {
  asio::io_context io;
  fake_server n1(io);
  options o = fast({n1.where()});
  o.client_id = 5;
  client c(io.get_executor(), o);

  SUBCASE("with no attempt that may have applied it: sent again as seq 1 of a new session") {
    n1.script([](const seen_request&, std::size_t n) {
      return n == 0 ? scripted::error(409, "session_expired", 1) : scripted::ok({{"node", 1}, {"revision", 2}});
    });
    const answer a = await(io, c.put("k", "v"));
    REQUIRE(a.ok());
    CHECK(a.hops.size() == 2);
    REQUIRE(n1.requests().size() == 2);
    CHECK(n1.requests()[1].header("x-raftkv-client") != "5");
    CHECK(n1.requests()[1].header("x-raftkv-seq") == "1");
    CHECK(a.client_id != 5);
    const answer b = await(io, c.put("k", "v"));
    CHECK(n1.requests()[2].header("x-raftkv-client") == std::to_string(a.client_id));
    CHECK(n1.requests()[2].header("x-raftkv-seq") == "2");
  }
  SUBCASE("after an attempt that may have applied it: outcome unknown, not sent again") {
    n1.script([](const seen_request&, std::size_t n) {
      return n == 0 ? scripted::error(504, "timeout", 1) : scripted::error(409, "session_expired", 1);
    });
    const answer a = await(io, c.put("k", "v"));
    CHECK(a.result == outcome::outcome_unknown);
    CHECK(n1.requests().size() == 2);
  }
}

TEST_CASE("concurrent writes use different sessions; the bound is enforced") {
  asio::io_context io;
  fake_server n1(io);
  options o = fast({n1.where()});
  o.max_writes_in_flight = 2;
  client c(io.get_executor(), o);
  std::vector<answer> done;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(io, c.put("k" + std::to_string(i), "v"), [&](std::exception_ptr e, answer a) {
      REQUIRE_FALSE(e);
      done.push_back(std::move(a));
    });
  }
  REQUIRE(run_until(io, [&] { return done.size() == 3; }));
  std::size_t refused = 0;
  for (const answer& a : done) refused += a.error == "too_many_writes" ? 1 : 0;
  CHECK(refused == 1);
  REQUIRE(n1.requests().size() == 2);
  CHECK(n1.requests()[0].header("x-raftkv-client") != n1.requests()[1].header("x-raftkv-client"));
  CHECK(n1.requests()[0].header("x-raftkv-seq") == "1");
  CHECK(n1.requests()[1].header("x-raftkv-seq") == "1");
  // Afterwards both sessions are free again: the next write reuses the first.
  const answer next = await(io, c.put("k", "v"));
  CHECK(next.ok());
  CHECK(n1.requests()[2].header("x-raftkv-seq") == "2");
}

TEST_CASE("keep-alive: one connection carries the requests; one the server closed is replaced quietly") {
  asio::io_context io;
  fake_server n1(io);
  client c(io.get_executor(), fast({n1.where()}));
  for (int i = 0; i < 3; ++i) CHECK(await(io, c.get("k")).ok());
  CHECK(n1.connections() == 1);
  n1.drop_connections();
  io.run_for(20ms);
  const answer a = await(io, c.get("k"));
  CHECK(a.ok());
  CHECK(a.hops.size() == 1);  // no failed hop for the closed idle connection
  CHECK(n1.connections() == 2);
}

TEST_CASE("status_all asks every node at once and reports the dead ones") {
  asio::io_context io;
  fake_server n1(io), n3(io), n4(io);
  const endpoint dead = dead_endpoint(io);
  n1.script([](const seen_request&, std::size_t) {
    return scripted::ok({{"id", 1}, {"role", "leader"}, {"term", 4}, {"leader", 1}, {"commit", 9}, {"applied", 9}});
  });
  for (fake_server* s : {&n3, &n4}) s->script([](const seen_request&, std::size_t) { return scripted::hang(); });
  options o = fast({n1.where(), dead, n3.where(), n4.where()});
  o.status_timeout = 300ms;
  client c(io.get_executor(), o);
  const std::vector<node_status> all = await(io, c.status_all());
  REQUIRE(all.size() == 4);
  // In parallel: the two silent nodes were asked at once, not one timeout after the other.
  REQUIRE(n3.requests().size() == 1);
  REQUIRE(n4.requests().size() == 1);
  const auto gap = n3.requests()[0].at > n4.requests()[0].at ? n3.requests()[0].at - n4.requests()[0].at
                                                              : n4.requests()[0].at - n3.requests()[0].at;
  CHECK(gap < 300ms);
  CHECK(all[0].target == n1.where());
  CHECK(all[0].reachable);
  CHECK(all[0].body["role"] == "leader");
  CHECK(all[1].target == dead);
  CHECK_FALSE(all[1].reachable);
  CHECK_FALSE(all[1].error.empty());
  CHECK(all[2].target == n3.where());
  CHECK_FALSE(all[2].reachable);
  CHECK(all[2].error == "timed out after 300 ms");
  CHECK(all[3].target == n4.where());
  CHECK_FALSE(all[3].reachable);
  CHECK(c.node_of(n1.where()) == 1);
  CHECK(n1.requests()[0].target == "/v1/status");
}

TEST_CASE("on_hop sees every hop as it ends; an empty key is refused without a request") {
  asio::io_context io;
  fake_server n1(io), n2(io);
  n1.script([&](const seen_request& r, std::size_t) { return scripted::redirect(n2.where(), 2, 1, r.target); });
  n2.script([](const seen_request&, std::size_t) { return scripted::ok({{"node", 2}, {"revision", 1}}); });
  options o = fast({n1.where(), n2.where()});
  std::vector<hop> live;
  o.on_hop = [&](const hop& h) { live.push_back(h); };
  client c(io.get_executor(), o);
  const answer a = await(io, c.del("k"));
  REQUIRE(a.ok());
  REQUIRE(live.size() == 2);
  CHECK(live[0].status == 307);
  CHECK(live[1].status == 200);
  CHECK(n2.requests()[0].method == "DELETE");

  const answer empty = await(io, c.get(""));
  CHECK(empty.result == outcome::rejected);
  CHECK(empty.error == "bad_key");
  CHECK(empty.hops.empty());
  CHECK(n1.requests().size() + n2.requests().size() == 2);
}

TEST_CASE("list and cas build their queries") {
  asio::io_context io;
  fake_server n1(io);
  client c(io.get_executor(), fast({n1.where()}));
  CHECK(await(io, c.list("c++/", 10, consistency::stale)).ok());
  CHECK(n1.requests()[0].target == "/v1/kv?prefix=c%2B%2B%2F&limit=10&consistency=stale");
  CHECK(await(io, c.cas("lock", 0, "me")).ok());
  CHECK(n1.requests()[1].target == "/v1/kv/lock?cas=0");
  CHECK(n1.requests()[1].method == "PUT");
  n1.script([](const seen_request&, std::size_t) {
    scripted s = scripted::error(412, "cas_failed", 1);
    s.body["current_mod_revision"] = 12;
    return s;
  });
  const answer a = await(io, c.cas("lock", 3, "you"));
  CHECK(a.result == outcome::cas_failed);
  CHECK(a.message == "compare-and-swap failed: the key's mod revision is 12");
}
