// Integration tests of raftkv::client and raftkv-client against real
// raftkv-server processes on loopback (cluster.hpp): a stream of writes
// through a leader kill (none lost, none applied twice), redirects followed to
// exactly the leader's address, reads of both consistencies (an isolated
// follower's stale read), the one-shot exit codes, the stdin REPL, and the
// client example program.
#include "integration/cluster.hpp"

#include <raftkv/client/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "support/asio_await.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace rc = raftkv::client;
using namespace raftkv::itest;
using namespace std::chrono_literals;
using json = nlohmann::json;

bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 60s) {
  return raftkv::test::run_until(io, done, limit, 5ms);
}

template <class T>
T await(asio::io_context& io, asio::awaitable<T> op, std::chrono::milliseconds limit = 60s) {
  return raftkv::test::await(io, std::move(op), limit);
}

rc::endpoint api(const cluster& c, std::uint64_t id) { return {"127.0.0.1", c.api_port(id)}; }

/// Client options for `ids` of `c`, in that order.
rc::options options_for(const cluster& c, const std::vector<std::uint64_t>& ids) {
  rc::options o;
  for (auto id : ids) o.peers.push_back(api(c, id));
  o.deadline = 20s;
  o.attempt_timeout = 2s;
  return o;
}

std::string peers_arg(const cluster& c) {
  std::string s;
  for (std::uint64_t id = 1; id <= c.size(); ++id) s += (id == 1 ? "" : ",") + api(c, id).str();
  return s;
}

/// One writer: puts w<writer>-<i> = v<writer>-<i>, one after the other.
asio::awaitable<void> writer(rc::client c, int id, int count, std::vector<rc::answer>* answers, int* acked) {
  for (int i = 0; i < count; ++i) {
    const std::string suffix = std::to_string(id) + "-" + std::to_string(i);
    auto op = c.put("w" + suffix, "v" + suffix);  // the awaitable first, then one co_await (GCC 12)
    rc::answer a = co_await std::move(op);
    answers->push_back(std::move(a));
    ++*acked;
  }
}

}  // namespace

TEST_CASE("a stream of writes survives a leader kill: every write acknowledged once, none lost, none doubled") {
  cluster c(3);
  const std::uint64_t leader = c.wait_for_leader();
  REQUIRE_MESSAGE(leader != 0, c.log(1));
  asio::io_context io;
  rc::client cl(io.get_executor(), options_for(c, {1, 2, 3}));

  constexpr int writers = 3, per_writer = 100;
  std::vector<rc::answer> answers;
  int acked = 0, finished = 0;
  for (int w = 0; w < writers; ++w) {
    asio::co_spawn(io, writer(cl, w, per_writer, &answers, &acked), [&](std::exception_ptr e) {
      ++finished;
      if (e) std::rethrow_exception(e);
    });
  }
  bool killed = false;
  const bool done = run_until(io, [&] {
    if (!killed && acked >= writers * per_writer / 3) {
      c.kill(leader);  // SIGKILL with writes in flight
      killed = true;
    }
    return finished == writers;
  }, 120s);
  REQUIRE(done);
  REQUIRE(killed);

  std::size_t failed_hops = 0, duplicates = 0;
  for (const rc::answer& a : answers) {
    CAPTURE(a.message);
    CAPTURE(rc::format_trace(a.hops, a.elapsed_ms));
    CHECK(a.ok());
    for (const rc::hop& h : a.hops) failed_hops += h.result != rc::wire::answered || h.status >= 500 ? 1 : 0;
    duplicates += a.body.is_object() && a.body.value("duplicate", false) ? 1 : 0;
  }
  CHECK(answers.size() == writers * per_writer);
  CHECK(failed_hops > 0);  // the kill really hit requests in flight
  MESSAGE("hops that failed: " << failed_hops << ", duplicate answers: " << duplicates);

  const std::uint64_t next = c.wait_for_leader();
  REQUIRE(next != 0);
  CHECK(next != leader);
  const rc::answer all = await(io, cl.list("w", 1000));
  REQUIRE_MESSAGE(all.ok(), all.message);
  CHECK(all.body["count"] == writers * per_writer);
  // Every put created a new key: one revision each. A write applied twice
  // would show as version 2 and one revision too many.
  CHECK(all.body["revision"] == writers * per_writer);
  std::set<std::uint64_t> create_revisions;
  for (const json& item : all.body["items"]) {
    const std::string key = item["key"];
    CAPTURE(key);
    CHECK(item["value"] == "v" + key.substr(1));
    CHECK(item["version"] == 1);
    create_revisions.insert(item["create_revision"].get<std::uint64_t>());
  }
  CHECK(create_revisions.size() == writers * per_writer);

  // The killed node restarts and catches up; its own stale view then has every write.
  c.start(leader);
  rc::client solo(io.get_executor(), options_for(c, {leader}));
  bool caught_up = false;
  for (int i = 0; i < 200 && !caught_up; ++i) {
    const rc::answer a = await(io, solo.list("w", 1000, rc::consistency::stale));
    caught_up = a.ok() && a.body["count"] == writers * per_writer;
    if (!caught_up) std::this_thread::sleep_for(50ms);
  }
  CHECK_MESSAGE(caught_up, c.log(leader));
}

TEST_CASE("redirects go to exactly the leader's address; reads of both consistencies") {
  cluster c(3);
  const std::uint64_t leader = c.wait_for_leader();
  REQUIRE(leader != 0);
  std::vector<std::uint64_t> followers;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    if (id != leader) followers.push_back(id);
  }
  asio::io_context io;
  rc::client cl(io.get_executor(), options_for(c, {followers[0], followers[1], leader}));

  const rc::answer put = await(io, cl.put("color", "red"));
  REQUIRE_MESSAGE(put.ok(), put.message);
  REQUIRE(put.hops.size() == 2);
  CHECK(put.hops[0].status == 307);
  CHECK(put.hops[0].hint_node == leader);
  CHECK(put.hops[1].target == api(c, leader));  // Location as given: no port offset
  CHECK(put.hops[1].node == leader);
  CHECK(cl.leader_hint() == api(c, leader));
  MESSAGE(rc::format_trace(put.hops, put.elapsed_ms));

  // A linearizable read on any node sees the write, answered by that node.
  for (std::uint64_t id = 1; id <= 3; ++id) {
    CAPTURE(id);
    rc::client one(io.get_executor(), options_for(c, {id}));
    const rc::answer lin = await(io, one.get("color"));
    REQUIRE_MESSAGE(lin.ok(), lin.message);
    CHECK(lin.body["value"] == "red");
    CHECK(lin.body["node"] == id);
    CHECK(lin.body["consistency"] == "linearizable");
  }

  // An isolated follower: its stale reads answer from its old state at once;
  // its linearizable reads cannot be confirmed and end unavailable.
  const std::uint64_t cut = followers[0];
  REQUIRE(http(c.api_port(cut), "POST", "/v1/admin/isolate").status == 200);
  const rc::answer blue = await(io, cl.put("color", "blue"));
  REQUIRE_MESSAGE(blue.ok(), blue.message);
  rc::options cut_opts = options_for(c, {cut});
  cut_opts.deadline = 1500ms;
  cut_opts.attempt_timeout = 700ms;
  rc::client alone(io.get_executor(), cut_opts);
  const rc::answer stale = await(io, alone.get("color", rc::consistency::stale));
  REQUIRE_MESSAGE(stale.ok(), stale.message);
  CHECK(stale.body["value"] == "red");
  CHECK(stale.body["consistency"] == "stale");
  const rc::answer lin = await(io, alone.get("color"));
  CHECK(lin.result == rc::outcome::unavailable);
  CHECK(lin.elapsed_ms < 3000);
  const rc::answer fresh = await(io, cl.get("color"));
  CHECK(fresh.body["value"] == "blue");
  REQUIRE(http(c.api_port(cut), "POST", "/v1/admin/heal").status == 200);
  bool healed = false;
  for (int i = 0; i < 200 && !healed; ++i) {
    const rc::answer s = await(io, alone.get("color", rc::consistency::stale));
    healed = s.ok() && s.body["value"] == "blue";
    if (!healed) std::this_thread::sleep_for(50ms);
  }
  CHECK(healed);
}

TEST_CASE("raftkv-client one-shot: results, exit codes, --json, the stdin REPL") {
  cluster c(3);
  REQUIRE(c.wait_for_leader() != 0);
  const std::string bin = client_binary();
  const std::string peers = peers_arg(c);
  const auto run = [&](std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--peers", peers});
    return run_to_exit(bin, args, input);
  };

  const run_result put = run({"put", "foo", "bar"});
  CHECK(put.code == 0);
  CHECK(put.out == "OK rev 1\n");
  CHECK(put.err.empty());
  const run_result get = run({"get", "foo"});
  CHECK(get.code == 0);
  CHECK(get.out == "bar\n");
  const run_result stale = run({"get", "foo", "--stale"});
  CHECK(stale.code == 0);
  const run_result js = run({"--json", "get", "foo"});
  CHECK(js.code == 0);
  CHECK(json::parse(js.out)["value"] == "bar");

  const run_result missing = run({"get", "nope"});
  CHECK(missing.code == 3);
  CHECK(missing.out.empty());
  CHECK(missing.err == "raftkv-client: key not found: nope\n");
  CHECK(run({"delete", "nope"}).code == 3);
  const run_result cas = run({"cas", "foo", "999", "x"});
  CHECK(cas.code == 5);
  CHECK(cas.err == "raftkv-client: compare-and-swap failed: foo's mod revision is 1, not 999\n");
  CHECK(run({"cas", "foo", "1", "baz"}).code == 0);
  CHECK(run({"get", "foo"}).out == "baz\n");

  const run_result usage = run({"put", "k"});
  CHECK(usage.code == 2);
  CHECK(usage.err == "raftkv-client: usage: put KEY VALUE\n");
  CHECK(run({"--bogus", "status"}).code == 2);
  CHECK(run({"fly"}).code == 2);
  CHECK(run_to_exit(bin, {"--help"}).code == 0);

  const run_result leader = run({"leader"});
  CHECK(leader.code == 0);
  CHECK(leader.out.starts_with("node "));
  const run_result status = run({"status"});
  CHECK(status.code == 0);
  CHECK(std::count(status.out.begin(), status.out.end(), '\n') == 3);
  const run_result traced = run({"--trace", "put", "t", "1"});
  CHECK(traced.code == 0);
  CHECK(traced.err.find("→ ") != std::string::npos);
  CHECK(traced.err.find("200 OK rev") != std::string::npos);

  const run_result repl = run({}, "put a 1\nget a\n\nlist a\nget zzz\nbogus words\nget a\n");
  CHECK(repl.out == "OK rev 4\n1\na\t1\n1\n");
  CHECK(repl.err == "raftkv-client: key not found: zzz\nraftkv-client: unknown command 'bogus' (try help)\n");
  CHECK(repl.code == 2);  // the last failure's code
  CHECK(run({}, "get a\nquit\nget zzz\n").code == 0);  // quit ends before the failure

  // The example program of docs/client.md against the same cluster.
  const char* example = std::getenv("RAFTKV_CLIENT_EXAMPLE");
  REQUIRE(example != nullptr);
  const run_result ex = run_to_exit(example, {peers});
  CHECK_MESSAGE(ex.code == 0, ex.err);
  CHECK(ex.out.find("greeting = hello") != std::string::npos);

  // With every server dead: "cluster unavailable" within the deadline.
  for (std::uint64_t id = 1; id <= 3; ++id) c.kill(id);
  const auto t0 = std::chrono::steady_clock::now();
  const run_result down = run({"--timeout-ms", "1500", "get", "foo"});
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(down.code == 4);
  CHECK(down.err.starts_with("raftkv-client: cluster unavailable: no definite answer within 1500 ms"));
  CHECK(std::count(down.err.begin(), down.err.end(), '\n') == 1);
  CHECK(run({"--timeout-ms", "1000", "put", "x", "y"}).code == 4);  // refused everywhere: not applied
  CHECK(run({"--timeout-ms", "1000", "status"}).code == 4);
  CHECK(run({"--timeout-ms", "1000", "leader"}).code == 4);
}
