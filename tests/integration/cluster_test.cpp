// Integration tests with real raftkv-server processes on loopback (issue #4):
// elections, redirects, reads of both consistencies, kill -9 and catch-up by
// snapshot, an isolated leader stepping down, exactly-once retries, bad input.
#include "integration/cluster.hpp"

#include <raftkv/tui/server_view.hpp>

#include <doctest/doctest.h>

#include "support/raw_socket.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>

namespace {

using namespace raftkv::itest;
using json = nlohmann::json;

std::uint64_t other_than(std::uint64_t a, std::uint64_t b, std::size_t n) {
  for (std::uint64_t id = 1; id <= n; ++id) {
    if (id != a && id != b) return id;
  }
  return 0;
}

using raftkv::test::raw_exchange;

/// PUT on node `id`, following one redirect like `curl -L`.
reply put_following(const cluster& c, std::uint64_t id, const std::string& key, const std::string& value,
                    const std::map<std::string, std::string>& headers = {}) {
  reply r = http(c.api_port(id), "PUT", "/v1/kv/" + key, value, headers);
  if (r.status != 307) return r;
  const std::string loc = r.header("location");
  const auto port_at = loc.find(':', 7);
  const auto path_at = loc.find('/', port_at);
  const auto port = static_cast<std::uint16_t>(std::stoi(loc.substr(port_at + 1, path_at - port_at - 1)));
  return http(port, "PUT", loc.substr(path_at), value, headers);
}

/// A write that must succeed: follows redirects and retries 503/504 with one
/// session (so a retry is applied at most once), for up to 15 s.
reply put_retrying(const cluster& c, std::uint64_t id, const std::string& key, const std::string& value) {
  static std::mt19937_64 ids(std::random_device{}());
  // A fresh client per write, retried with the same (client, seq = 1).
  const std::map<std::string, std::string> session = {{"X-Raftkv-Client", std::to_string(ids() | 1)},
                                                      {"X-Raftkv-Seq", "1"}};
  reply r;
  eventually([&] {
    for (std::uint64_t n = 1; n <= c.size(); ++n) {
      const std::uint64_t target = (id + n - 2) % c.size() + 1;  // id first, then the others
      if (!c.running(target)) continue;
      r = put_following(c, target, key, value, session);
      if (r.status == 200) return true;
    }
    return false;
  });
  return r;
}

}  // namespace

TEST_CASE("a cluster elects a leader; writes through a follower follow the redirect; every node reads") {
  cluster c(3);
  const std::uint64_t leader = c.wait_for_leader();
  REQUIRE_MESSAGE(leader != 0, c.log(1));
  const std::uint64_t follower = other_than(leader, 0, 3);

  const reply redirect = http(c.api_port(follower), "PUT", "/v1/kv/greeting", "hello");
  CHECK(redirect.status == 307);
  CHECK(redirect.header("location") == "http://127.0.0.1:" + std::to_string(c.api_port(leader)) + "/v1/kv/greeting");
  CHECK(redirect.json()["leader_id"] == leader);
  CHECK(redirect.json()["error"] == "not_leader");

  const reply put = put_following(c, follower, "greeting", "hello");
  REQUIRE_MESSAGE(put.status == 200, put.body);
  CHECK(put.json()["node"] == leader);

  for (std::uint64_t id = 1; id <= 3; ++id) {
    CAPTURE(id);
    const reply lin = http(c.api_port(id), "GET", "/v1/kv/greeting");
    CHECK(lin.status == 200);
    CHECK(lin.json()["value"] == "hello");
    CHECK(lin.json()["consistency"] == "linearizable");
    CHECK(eventually([&] {
      const reply st = http(c.api_port(id), "GET", "/v1/kv/greeting?consistency=stale");
      return st.status == 200 && st.json()["value"] == "hello";
    }));
  }
  CHECK(http(c.api_port(leader), "GET", "/v1/kv/absent").status == 404);
  const reply list = http(c.api_port(follower), "GET", "/v1/kv?prefix=gr");
  CHECK(list.status == 200);
  CHECK(list.json()["count"] == 1);
}

TEST_CASE("kill -9 of the leader: a new leader takes writes; the old one restarts and catches up by snapshot") {
  cluster c(3, {"--snapshot-entries", "20", "--compact-keep", "5"});
  const std::uint64_t first = c.wait_for_leader();
  REQUIRE(first != 0);
  for (int i = 0; i < 10; ++i) REQUIRE(put_retrying(c, first, "pre" + std::to_string(i), "v1").status == 200);
  c.kill(first);
  const std::uint64_t second = c.wait_for_leader();
  REQUIRE_MESSAGE(second != 0, c.log(other_than(first, 0, 3)));
  CHECK(second != first);
  // Every write acknowledged before the kill survived it.
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    const reply r = http(c.api_port(second), "GET", "/v1/kv/pre" + std::to_string(i));
    CHECK(r.status == 200);
    CHECK(r.json()["value"] == "v1");
  }
  for (int i = 0; i < 60; ++i) {
    const reply r = put_retrying(c, second, "k" + std::to_string(i % 15), "v2-" + std::to_string(i));
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
  const std::uint64_t leader_now = c.wait_for_leader();
  REQUIRE(leader_now != 0);
  const json ls = c.status(leader_now);
  CHECK(ls["snapshot_index"].get<std::uint64_t>() > 20);
  CHECK(ls["first_index"].get<std::uint64_t>() > 12);  // the log the killed node had is gone

  c.start(first);
  const auto target = ls["commit"].get<std::uint64_t>();
  CHECK_MESSAGE(eventually([&] {
    const json s = c.status(first);
    return !s.is_discarded() && s["applied"].get<std::uint64_t>() >= target;
  }), c.log(first));
  const json fs = c.status(first);
  CHECK(fs["snapshot_index"].get<std::uint64_t>() > 20);
  bool restored = false;
  for (const auto& e : fs["events"]) {
    restored = restored || e["text"].get<std::string>().find("restored the snapshot") != std::string::npos;
  }
  CHECK(restored);
  const reply r = http(c.api_port(first), "GET", "/v1/kv/k14?consistency=stale");
  CHECK(r.status == 200);
  CHECK(r.json()["value"] == "v2-59");
}

TEST_CASE("an isolated leader steps down; its stale reads are old and its linearizable reads fail") {
  cluster c(3, {"--request-timeout-ms", "1500"});
  const std::uint64_t old_leader = c.wait_for_leader();
  REQUIRE(old_leader != 0);
  REQUIRE(put_retrying(c, old_leader, "color", "red").status == 200);
  REQUIRE(http(c.api_port(old_leader), "POST", "/v1/admin/isolate").status == 200);

  std::uint64_t new_leader = 0;
  CHECK(eventually([&] {
    for (std::uint64_t id = 1; id <= 3; ++id) {
      if (id == old_leader) continue;
      const json s = c.status(id);
      if (!s.is_discarded() && s["role"] == "leader") new_leader = id;
    }
    return new_leader != 0;
  }));
  REQUIRE(new_leader != 0);
  REQUIRE(put_retrying(c, new_leader, "color", "blue").status == 200);
  CHECK(eventually([&] { return c.status(old_leader)["role"] != "leader"; }));

  const reply stale = http(c.api_port(old_leader), "GET", "/v1/kv/color?consistency=stale");
  CHECK(stale.status == 200);
  CHECK(stale.json()["value"] == "red");
  const reply lin = http(c.api_port(old_leader), "GET", "/v1/kv/color");
  CHECK(lin.status != 200);
  const reply write = http(c.api_port(old_leader), "PUT", "/v1/kv/color", "green");
  CHECK(write.status != 200);

  REQUIRE(http(c.api_port(old_leader), "POST", "/v1/admin/heal").status == 200);
  CHECK(eventually([&] {
    const reply r = http(c.api_port(old_leader), "GET", "/v1/kv/color?consistency=stale");
    return r.status == 200 && r.json()["value"] == "blue";
  }));
}

TEST_CASE("status windows feed the TUI: the log in words, keys, actions, and entries a new leader overwrote") {
  cluster c(3, {"--request-timeout-ms", "300"});
  const std::uint64_t old_leader = c.wait_for_leader();
  REQUIRE(old_leader != 0);
  REQUIRE(put_retrying(c, old_leader, "k", "v1").status == 200);
  // Cut off, the old leader still appends what it is given; none of it can commit (§5.3).
  REQUIRE(http(c.api_port(old_leader), "POST", "/v1/admin/isolate").status == 200);
  CHECK(http(c.api_port(old_leader), "PUT", "/v1/kv/lost", "never").status == 504);
  std::uint64_t new_leader = 0;
  REQUIRE(eventually([&] {
    for (std::uint64_t id = 1; id <= 3; ++id) {
      if (id != old_leader && c.status(id)["role"] == "leader") new_leader = id;
    }
    return new_leader != 0;
  }));
  for (int i = 0; i < 3; ++i) REQUIRE(put_retrying(c, new_leader, "k", "v" + std::to_string(2 + i)).status == 200);
  REQUIRE(http(c.api_port(old_leader), "POST", "/v1/admin/heal").status == 200);

  json st;
  CHECK(eventually([&] {
    st = http(c.api_port(old_leader), "GET", "/v1/status?log=30&keys=10&events=500").json();
    return st.is_object() && st["overwritten"].is_array() && !st["overwritten"].empty() &&
           st["commit"] == c.status(new_leader)["commit"];
  }));
  CAPTURE(st.dump());
  bool lost_was_overwritten = false;
  for (const json& o : st["overwritten"]) lost_was_overwritten |= o["old_command"] == "put lost=never";
  CHECK(lost_was_overwritten);

  const raftkv::tui::server_view v = raftkv::tui::view_from_status(st);
  CHECK(v.id == old_leader);
  CHECK(v.role == "follower");
  CHECK(v.leader == new_leader);
  REQUIRE(!v.log.empty());
  CHECK(v.log.back().command == "put k=v4");
  CHECK(v.log.back().index == v.last_index);
  REQUIRE(v.items.size() == 1);
  CHECK(v.items[0].key == "k");
  CHECK(v.items[0].value == "v4");
  CHECK(v.last_change == std::optional<std::string>("k"));
  bool isolate_noted = false, heal_noted = false;
  for (const auto& e : v.events) {
    isolate_noted |= e.kind == "fault" && e.text.find("isolated") != std::string::npos;
    heal_noted |= e.kind == "fault" && e.text.find("healed") != std::string::npos;
  }
  CHECK(isolate_noted);
  CHECK(heal_noted);
  CHECK(http(c.api_port(old_leader), "GET", "/v1/status?log=x").status == 400);
}

TEST_CASE("a retried write with the same session is applied once") {
  cluster c(3);
  const std::uint64_t leader = c.wait_for_leader();
  REQUIRE(leader != 0);
  const std::map<std::string, std::string> session = {{"X-Raftkv-Client", "4242"}, {"X-Raftkv-Seq", "1"}};
  const reply first = put_following(c, leader, "counter", "1", session);
  REQUIRE(first.status == 200);
  CHECK(first.json()["duplicate"] == false);
  const reply again = put_following(c, leader, "counter", "1", session);
  REQUIRE(again.status == 200);
  CHECK(again.json()["duplicate"] == true);
  CHECK(again.json()["revision"] == first.json()["revision"]);
  const reply get = http(c.api_port(leader), "GET", "/v1/kv/counter");
  CHECK(get.json()["version"] == 1);  // one put, not two
  const reply stale_seq = put_following(c, leader, "counter", "0",
                                        {{"X-Raftkv-Client", "4242"}, {"X-Raftkv-Seq", "1"}});
  CHECK(stale_seq.json()["duplicate"] == true);
}

TEST_CASE("compare-and-swap on a key's revision") {
  cluster c(3);
  const std::uint64_t leader = c.wait_for_leader();
  REQUIRE(leader != 0);
  const reply create = http(c.api_port(leader), "PUT", "/v1/kv/lock?cas=0", "me");
  REQUIRE(create.status == 200);
  CHECK(http(c.api_port(leader), "PUT", "/v1/kv/lock?cas=0", "you").status == 412);
  const auto rev = http(c.api_port(leader), "GET", "/v1/kv/lock").json()["mod_revision"].get<std::uint64_t>();
  CHECK(http(c.api_port(leader), "PUT", "/v1/kv/lock?cas=" + std::to_string(rev), "you").status == 200);
  CHECK(http(c.api_port(leader), "PUT", "/v1/kv/lock?cas=" + std::to_string(rev), "again").status == 412);
  const auto rev2 = http(c.api_port(leader), "GET", "/v1/kv/lock").json()["mod_revision"].get<std::uint64_t>();
  CHECK(http(c.api_port(leader), "DELETE", "/v1/kv/lock?cas=" + std::to_string(rev), "").status == 412);
  CHECK(http(c.api_port(leader), "GET", "/v1/kv/lock").status == 200);  // still there
  CHECK(http(c.api_port(leader), "DELETE", "/v1/kv/lock?cas=" + std::to_string(rev2), "").status == 200);
  CHECK(http(c.api_port(leader), "GET", "/v1/kv/lock").status == 404);
  // A '+' in the path is part of the key; in a query it is a space.
  REQUIRE(http(c.api_port(leader), "PUT", "/v1/kv/c++", "lang").status == 200);
  const reply listed = http(c.api_port(leader), "GET", "/v1/kv?prefix=c+");
  CHECK(listed.json()["count"] == 0);  // the prefix "c " matches nothing
  CHECK(http(c.api_port(leader), "GET", "/v1/kv?prefix=c%2B").json()["items"][0]["key"] == "c++");
}

TEST_CASE("bad input gets a clear error and the node keeps serving") {
  cluster c(3, {"--max-body-bytes", "1024"});
  const std::uint64_t leader = c.wait_for_leader();
  REQUIRE(leader != 0);
  const auto p = c.api_port(leader);
  struct bad_case {
    const char* what;
    reply r;
    int status;
  };
  const std::vector<bad_case> cases = {
      {"invalid JSON", http(p, "PUT", "/v1/kv/a", "{not json", {{"Content-Type", "application/json"}}), 400},
      {"JSON without value", http(p, "PUT", "/v1/kv/a", "{\"v\":1}", {{"Content-Type", "application/json"}}), 400},
      {"body too large", http(p, "PUT", "/v1/kv/a", std::string(4096, 'x')), 413},
      {"unknown route", http(p, "GET", "/v2/nothing"), 404},
      {"bad escape in key", http(p, "GET", "/v1/kv/%zz"), 400},
      {"bad consistency", http(p, "GET", "/v1/kv/a?consistency=maybe"), 400},
      {"bad cas", http(p, "PUT", "/v1/kv/a?cas=x", "v"), 400},
      {"half a session", http(p, "PUT", "/v1/kv/a", "v", {{"X-Raftkv-Client", "1"}}), 400},
      {"wrong method", http(p, "PATCH", "/v1/kv/a"), 405},
      {"unknown admin action", http(p, "POST", "/v1/admin/explode"), 404},
  };
  for (const auto& bc : cases) {
    CAPTURE(bc.what);
    CHECK(bc.r.status == bc.status);
    CHECK(bc.r.json().contains("error"));
  }
  // Bytes that are not HTTP get a 400 naming the problem, then the close.
  const std::string garbage = raw_exchange(p, "HELLO THERE\r\n\r\n");
  CHECK(garbage.starts_with("HTTP/1.1 400"));
  CHECK(garbage.find("malformed HTTP request") != std::string::npos);
  const std::string bad_chunk = raw_exchange(p, "PUT /v1/kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  CHECK(bad_chunk.starts_with("HTTP/1.1 400"));
  const std::string huge_header = raw_exchange(p, "GET /v1/status HTTP/1.1\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n");
  CHECK(huge_header.starts_with("HTTP/1.1 431"));
  CHECK(put_retrying(c, leader, "still", "alive").status == 200);
  const reply metrics = http(p, "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("raftkv_is_leader 1") != std::string::npos);
  CHECK(metrics.body.find("raftkv_http_requests_total{status=\"413\"} 1") != std::string::npos);

  // Pausing stops the node's Raft work; its clients are told, not left hanging.
  REQUIRE(http(p, "POST", "/v1/admin/pause").status == 200);
  CHECK(c.status(leader)["faults"]["paused"] == true);
  CHECK(http(p, "PUT", "/v1/kv/while-paused", "x").status == 503);
  REQUIRE(http(p, "POST", "/v1/admin/resume").status == 200);
  const reply json_put = http(p, "PUT", "/v1/kv/j", "{\"value\":\"from json\"}", {{"Content-Type", "application/json"}});
  CHECK(json_put.status == 200);
  CHECK(http(p, "GET", "/v1/kv/j").json()["value"] == "from json");
}

TEST_CASE("flags: --help, bad flags and an unusable port") {
  const auto help = run_server_to_exit({"--help"});
  CHECK(help.first == 0);
  const auto bad = run_server_to_exit({"--id", "1", "--bogus"});
  CHECK(bad.first == 2);
  CHECK(bad.second.find("raftkv-server:") != std::string::npos);
  const auto not_member = run_server_to_exit({"--id", "4", "--peers", "1=127.0.0.1:6001"});
  CHECK(not_member.first == 2);
  CHECK(not_member.second.find("not one of --peers") != std::string::npos);
  const auto bad_delay = run_server_to_exit({"--id", "1", "--peers", "1=127.0.0.1:6001", "--delay-ms", "70000"});
  CHECK(bad_delay.first == 2);
  CHECK(bad_delay.second.find("--delay-ms must be in 0..60000") != std::string::npos);

  cluster c(1);
  REQUIRE(c.wait_for_leader() == 1);
  const auto busy = run_server_to_exit({"--id", "1", "--peers", c.peers_flag(), "--data-dir",
                                        (c.dir() / "other").string(), "--headless"});
  CAPTURE(busy.second);
  CHECK(busy.first == 2);
  // The first port it tries to bind is named: the client API's, held by node 1.
  CHECK(busy.second.find("127.0.0.1:" + std::to_string(c.api_port(1))) != std::string::npos);
  CHECK(std::count(busy.second.begin(), busy.second.end(), '\n') == 1);  // one clear line
  CHECK(c.terminate(1) == 0);  // SIGTERM stops cleanly
}

TEST_CASE("locked doors: an admin token guards the admin and fault routes; --no-admin turns them off") {
  const std::string token = "s3cret-admin-token";
  {
    cluster c(1, {"--admin-token", token});
    REQUIRE(c.wait_for_leader() == 1);
    const auto p = c.api_port(1);
    const reply none = http(p, "POST", "/v1/admin/snapshot");
    CHECK(none.status == 401);
    CHECK(none.json()["error"] == "unauthorized");
    CHECK(http(p, "POST", "/v1/admin/isolate", "", {{"Authorization", "Bearer wrong-token-xx"}}).status == 401);
    CHECK(http(p, "POST", "/v1/admin/isolate", "", {{"Authorization", "Bearer " + token + "x"}}).status == 401);
    CHECK(c.status(1)["faults"]["isolated"] != true);  // nothing happened
    CHECK(http(p, "POST", "/v1/admin/snapshot", "", {{"Authorization", "Bearer " + token}}).status == 200);
    // Reads, writes, status and metrics stay open.
    CHECK(http(p, "PUT", "/v1/kv/k", "v").status == 200);
    CHECK(http(p, "GET", "/v1/status").status == 200);
    const reply metrics = http(p, "GET", "/metrics");
    CHECK(metrics.body.find("raftkv_http_requests_total{status=\"401\"} 3") != std::string::npos);
  }
  {
    cluster c(1, {"--no-admin"});
    REQUIRE(c.wait_for_leader() == 1);
    const reply off = http(c.api_port(1), "POST", "/v1/admin/pause");
    CHECK(off.status == 403);
    CHECK(off.json()["error"] == "admin_disabled");
    CHECK(c.status(1)["faults"]["paused"] == false);
  }
  const auto both = run_server_to_exit({"--id", "1", "--peers", "1=127.0.0.1:6001", "--no-admin", "--admin-token", token});
  CHECK(both.first == 2);
  CHECK(both.second.find("exclude each other") != std::string::npos);
  const auto short_token = run_server_to_exit({"--id", "1", "--peers", "1=127.0.0.1:6001", "--admin-token", "abc"});
  CHECK(short_token.first == 2);
  CHECK(short_token.second.find("at least 8 characters") != std::string::npos);
}

TEST_CASE("locked doors: connections beyond --max-connections are closed at once and counted") {
  cluster c(1, {"--max-connections", "2"});
  REQUIRE(c.wait_for_leader() == 1);
  const auto p = c.api_port(1);
  // Two idle keep-alive connections take both places.
  const int a = raftkv::test::connect_loopback(p);
  const int b = raftkv::test::connect_loopback(p);
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  // Once the server has taken both, a third is closed without an answer (an
  // answered one means it came first and its place is free again).
  const bool refused = eventually([&] { return http(p, "GET", "/v1/status", "", {}, std::chrono::seconds(2)).status == 0; },
                                  std::chrono::seconds(10), std::chrono::milliseconds(50));
  CHECK(refused);
  ::close(a);
  ::close(b);
  bool served = eventually([&] { return http(p, "GET", "/metrics").status == 200; });
  REQUIRE(served);
  const reply metrics = http(p, "GET", "/metrics");
  CHECK(metrics.body.find("raftkv_http_connections_refused_total 0") == std::string::npos);
  CHECK(metrics.body.find("raftkv_http_connections_refused_total") != std::string::npos);
}

TEST_CASE("a full disk stops that node with a clear error; the others go on and it catches up after") {
  cluster c(3);
  REQUIRE(c.wait_for_leader() != 0);
  // Node 3 comes back with every file capped at 256 KiB: its WAL fills up.
  c.kill(3);
  c.start(3, 256 * 1024);
  std::optional<int> code;
  int written = 0;
  const std::string value(1024, 'x');
  for (; written < 2000 && !code; ++written) {
    REQUIRE(put_retrying(c, 1, "full-" + std::to_string(written), value).status == 200);
    code = c.exited(3);
  }
  if (!code) {
    eventually([&] { return (code = c.exited(3)).has_value(); }, std::chrono::seconds(5));
  }
  REQUIRE_MESSAGE(code.has_value(), "node 3 kept running with a full disk");
  CHECK(*code != 0);
  const std::string log3 = c.log(3);
  CAPTURE(log3.substr(log3.size() > 2000 ? log3.size() - 2000 : 0));
  CHECK(log3.find("FATAL") != std::string::npos);
  CHECK(log3.find("File too large") != std::string::npos);  // strerror(EFBIG), named in the error
  // The other two still take writes.
  CHECK(put_retrying(c, 1, "after-full", "v").status == 200);
  // With room again, node 3 recovers what it had and catches up.
  c.start(3);
  const bool caught_up = eventually(
      [&] {
        const reply r = http(c.api_port(3), "GET", "/v1/kv/after-full?consistency=stale");
        return r.status == 200 && r.json()["value"] == "v";
      },
      std::chrono::seconds(30));
  if (!caught_up) {
    const std::string again = c.log(3);
    const auto gone = c.exited(3);
    MESSAGE("node 3 after the restart (" << (gone ? "exited " + std::to_string(*gone) : std::string("running"))
                                         << "):\n" << again.substr(again.size() > 4000 ? again.size() - 4000 : 0));
  }
  CHECK(caught_up);
  // Its WAL ended in a half-written record (EFBIG mid-write): recovery cut it
  // and said so, and the node started (a warning once crashed the start).
  CHECK(c.log(3).find("recovery: wal segment") != std::string::npos);
  const reply last = http(c.api_port(3), "GET", "/v1/kv/full-" + std::to_string(written - 1) + "?consistency=stale");
  CHECK(last.status == 200);
}
