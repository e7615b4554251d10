// Linearizability and durability under faults, against three real servers.
//
// Clients (raftkv::client, the smart client, one per worker: exactly-once
// sessions, redirects, retries) put, get (linearizable), delete and
// compare-and-swap a few keys while a nemesis, one fault at a time, kills
// nodes with SIGKILL and restarts them, pauses them (SIGSTOP / SIGCONT),
// isolates one through the fault API, or cuts the link between two. Every
// operation's invocation and completion is recorded; a write without a
// definite answer is an unknown outcome. At the end every node is killed at
// once and restarted, and each key is read: those reads join the history.
// tests/lin/history.hpp then checks that the history is linearizable, key by
// key, and that no acknowledged write is missing from the end.
//
// Environment (for the soak, scripts/soak.sh): RAFTKV_LIN_SECONDS (default
// 30) of faults, RAFTKV_LIN_CLIENTS (6), RAFTKV_LIN_KEYS (3), RAFTKV_LIN_SEED.
// RAFTKV_LIN_STALE_READS=1 makes the clients read with consistency=stale,
// which is not linearizable: the run must then fail (docs/reliability.md).
#include "integration/cluster.hpp"
#include "lin/history.hpp"

#include <raftkv/client/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

// GCC 12 inlines the workers' coroutine frames into the test body and then
// warns that Asio's frame operator delete does not match its operator new,
// which it does (awaitable_frame_base defines both). A false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

namespace asio = boost::asio;
namespace rc = raftkv::client;
using namespace raftkv::itest;
using namespace raftkv::lin;
using namespace std::chrono_literals;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// What the workers did, beyond the history.
struct tallies {
  std::size_t not_applied = 0;  ///< writes the client reports as never applied (no answer, not proposed)
  std::size_t reads_lost = 0;   ///< reads without an answer (left out of the history)
  std::size_t rejected = 0;     ///< other refusals (a stale session, a local limit)
};

/// One client's loop: random operations on `keys` until `stop`.
asio::awaitable<void> worker(int id, rc::options opts, std::vector<std::string> keys, std::uint64_t seed,
                             rc::consistency reads, const std::atomic<bool>* stop, std::vector<operation>* history,
                             tallies* t) {
  rc::client c(co_await asio::this_coro::executor, std::move(opts));
  std::mt19937_64 rng(seed);
  std::map<std::string, std::uint64_t> last_seen;  // key -> mod_revision this client last read (0: absent)
  std::uint64_t n = 0;
  while (!stop->load()) {
    operation o;
    o.client = id;
    o.key = keys[rng() % keys.size()];
    const unsigned pick = static_cast<unsigned>(rng() % 100);
    o.kind = pick < 35 ? op_kind::get : pick < 65 ? op_kind::put : pick < 75 ? op_kind::del : op_kind::cas;
    if (o.kind == op_kind::put || o.kind == op_kind::cas) o.value = "c" + std::to_string(id) + "-" + std::to_string(++n);
    if (o.kind == op_kind::cas) {
      // Mostly the revision this client last read (a read-modify-write);
      // sometimes 0 ("create if absent").
      o.expected = rng() % 4 == 0 ? 0 : last_seen[o.key];
    }
    o.call_ns = now_ns();
    rc::answer a;
    switch (o.kind) {
      case op_kind::get: a = co_await c.get(o.key, reads); break;
      case op_kind::put: a = co_await c.put(o.key, o.value); break;
      case op_kind::del: a = co_await c.del(o.key); break;
      case op_kind::cas: a = co_await c.cas(o.key, o.expected, o.value); break;
    }
    o.return_ns = now_ns();
    switch (a.result) {
      case rc::outcome::ok:
        o.result = op_result::ok;
        if (o.kind == op_kind::get) {
          o.out_value = a.body.value("value", "");
          o.out_revision = a.body.value("mod_revision", std::uint64_t{0});
          last_seen[o.key] = o.out_revision;
        } else if (o.kind != op_kind::del) {
          o.out_revision = a.body.value("revision", std::uint64_t{0});
        }
        break;
      case rc::outcome::not_found:
        o.result = op_result::not_found;
        if (o.kind == op_kind::get) last_seen[o.key] = 0;
        break;
      case rc::outcome::cas_failed:
        o.result = op_result::cas_failed;
        o.out_revision = a.body.value("current_mod_revision", std::uint64_t{0});
        last_seen[o.key] = o.out_revision;
        break;
      case rc::outcome::outcome_unknown:
        o.result = op_result::unknown;
        break;
      case rc::outcome::unavailable:
        // A read without an answer changes nothing; a write the client
        // reports as never applied is left out, so if it did apply, its value
        // shows up as "never written" and the check fails.
        if (o.kind == op_kind::get) ++t->reads_lost; else ++t->not_applied;
        continue;
      case rc::outcome::rejected:
      case rc::outcome::failed:
        if (o.kind != op_kind::get && a.maybe_applied) {
          o.result = op_result::unknown;
          break;
        }
        ++t->rejected;
        continue;
    }
    history->push_back(std::move(o));
  }
}

/// Faults, one at a time, each undone before the next.
class nemesis {
 public:
  nemesis(cluster& c, std::uint64_t seed) : c_(c), rng_(seed) {}

  void run_for(std::chrono::seconds total) {
    const auto end = std::chrono::steady_clock::now() + total;
    while (std::chrono::steady_clock::now() < end) {
      sleep_ms(300, 900);  // a quiet stretch: the cluster makes progress
      const std::uint64_t victim = 1 + rng_() % c_.size();
      switch (rng_() % 5) {
        case 0: kill_restart(victim); break;
        case 1: kill_restart(leader_or(victim)); break;
        case 2: pause(victim); break;
        case 3: isolate(victim); break;
        case 4: cut(victim, 1 + (victim + rng_() % (c_.size() - 1)) % c_.size()); break;
      }
    }
  }

  /// Every node killed at once, then all started again (the durability step).
  void crash_all() {
    for (std::uint64_t id = 1; id <= c_.size(); ++id) c_.kill(id);
    ++counts_["kill -9 of every node at once"];
    for (std::uint64_t id = 1; id <= c_.size(); ++id) c_.start(id);
  }

  const std::map<std::string, std::size_t>& counts() const { return counts_; }
  std::size_t total() const {
    std::size_t n = 0;
    for (const auto& [k, v] : counts_) n += v;
    return n;
  }

 private:
  void sleep_ms(int lo, int hi) {
    std::this_thread::sleep_for(std::chrono::milliseconds(lo + static_cast<int>(rng_() % (hi - lo + 1))));
  }
  std::uint64_t leader_or(std::uint64_t fallback) {
    const auto st = c_.status(fallback);
    const std::uint64_t l = st.is_object() ? st.value("leader", std::uint64_t{0}) : 0;
    return l >= 1 && l <= c_.size() ? l : fallback;
  }
  void kill_restart(std::uint64_t id) {
    c_.kill(id);
    ++counts_["kill -9, restart"];
    sleep_ms(200, 1500);
    c_.start(id);
  }
  void pause(std::uint64_t id) {
    if (!c_.running(id)) return;
    ::kill(c_.pid(id), SIGSTOP);
    ++counts_["pause (SIGSTOP / SIGCONT)"];
    sleep_ms(300, 2000);
    ::kill(c_.pid(id), SIGCONT);
  }
  bool admin(std::uint64_t id, const std::string& what) {
    return http(c_.api_port(id), "POST", "/v1/admin/" + what, "", {}, 2s).status == 200;
  }
  void isolate(std::uint64_t id) {
    if (!admin(id, "isolate")) return;
    ++counts_["isolate one node (fault API)"];
    sleep_ms(500, 2500);
    heal_all();
  }
  void cut(std::uint64_t a, std::uint64_t b) {
    if (a == b || !admin(a, "cut?peer=" + std::to_string(b) + "&dir=both")) return;
    ++counts_["cut the link between two nodes (fault API)"];
    sleep_ms(500, 2500);
    heal_all();
  }
  void heal_all() {
    for (std::uint64_t id = 1; id <= c_.size(); ++id) {
      for (int attempt = 0; attempt < 20 && !admin(id, "heal"); ++attempt) std::this_thread::sleep_for(100ms);
    }
  }

  cluster& c_;
  std::mt19937_64 rng_;
  std::map<std::string, std::size_t> counts_;
};

/// The key's value after the run, by a linearizable read that must answer.
std::optional<operation> final_read(asio::io_context& io, rc::options opts, const std::string& key) {
  std::optional<operation> out;
  bool done = false;
  asio::co_spawn(
      io,
      [](rc::options opts, std::string key, std::optional<operation>* out, bool* done) -> asio::awaitable<void> {
        rc::client c(co_await asio::this_coro::executor, std::move(opts));
        for (int attempt = 0; attempt < 10 && !out->has_value(); ++attempt) {
          operation o{.client = 99, .key = key, .kind = op_kind::get, .call_ns = now_ns()};
          rc::answer a = co_await c.get(key);
          o.return_ns = now_ns();
          if (a.result == rc::outcome::ok) {
            o.out_value = a.body.value("value", "");
            o.out_revision = a.body.value("mod_revision", std::uint64_t{0});
            *out = o;
          } else if (a.result == rc::outcome::not_found) {
            o.result = op_result::not_found;
            *out = o;
          }
        }
        *done = true;
      }(opts, key, &out, &done),
      asio::detached);
  const auto end = std::chrono::steady_clock::now() + 120s;
  while (!done && std::chrono::steady_clock::now() < end) {
    if (io.stopped()) io.restart();
    io.run_for(10ms);
  }
  return out;
}

}  // namespace

TEST_CASE("linearizable and durable under kills, pauses and partitions") {
  const auto seconds = std::chrono::seconds(env_or("RAFTKV_LIN_SECONDS", 30));
  const int clients = static_cast<int>(env_or("RAFTKV_LIN_CLIENTS", 6));
  const std::size_t key_count = env_or("RAFTKV_LIN_KEYS", 3);
  const std::uint64_t seed = env_or("RAFTKV_LIN_SEED", std::random_device{}());
  MESSAGE("nemesis seed " << seed << " (RAFTKV_LIN_SEED=" << seed << "), " << seconds.count() << " s, " << clients
                          << " clients, " << key_count << " keys");
  const rc::consistency reads =
      env_or("RAFTKV_LIN_STALE_READS", 0) == 1 ? rc::consistency::stale : rc::consistency::linearizable;
  if (reads == rc::consistency::stale) MESSAGE("reads are STALE: this run is expected to find violations");
  REQUIRE(clients >= 1);
  REQUIRE(key_count >= 1);

  cluster c(3);
  REQUIRE(c.wait_for_leader(30s) != 0);
  rc::options opts;
  for (std::uint64_t id = 1; id <= c.size(); ++id) opts.peers.push_back({"127.0.0.1", c.api_port(id)});
  opts.deadline = 4s;
  opts.attempt_timeout = 1s;
  std::vector<std::string> keys;
  for (std::size_t k = 0; k < key_count; ++k) keys.push_back("lin-" + std::to_string(k));

  std::vector<operation> history;
  tallies t;
  std::atomic<bool> stop{false};
  nemesis nem(c, seed ^ 0x9e3779b97f4a7c15ull);
  {
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::vector<std::vector<operation>> per_worker(static_cast<std::size_t>(clients));
    std::atomic<int> running{clients};
    std::exception_ptr worker_error;
    for (int w = 0; w < clients; ++w) {
      rc::options o = opts;
      o.seed = seed + static_cast<std::uint64_t>(w) + 1;
      asio::co_spawn(io, worker(w, o, keys, seed * 31 + static_cast<std::uint64_t>(w), reads, &stop,
                                &per_worker[static_cast<std::size_t>(w)], &t),
                     [&running, &worker_error](std::exception_ptr e) {
                       if (e) worker_error = e;  // read after the io thread ends
                       --running;
                     });
    }
    std::thread io_thread([&io] { io.run(); });
    nem.run_for(seconds);
    stop = true;
    // Let the last operations end (their deadline bounds them), then stop.
    for (int i = 0; i < 200 && running.load() > 0; ++i) std::this_thread::sleep_for(50ms);
    guard.reset();
    io_thread.join();
    CHECK(running.load() == 0);
    if (worker_error) std::rethrow_exception(worker_error);
    for (auto& ops : per_worker) history.insert(history.end(), ops.begin(), ops.end());
  }

  // Durability: every node dies at once; what was acknowledged must be there after.
  nem.crash_all();
  REQUIRE(c.wait_for_leader(60s) != 0);
  std::vector<std::pair<std::string, std::optional<std::string>>> finals;
  {
    asio::io_context io;
    rc::options o = opts;
    o.deadline = 10s;
    for (const std::string& k : keys) {
      auto r = final_read(io, o, k);
      REQUIRE_MESSAGE(r.has_value(), "no definite answer reading " << k << " after the restart");
      finals.emplace_back(k, r->result == op_result::ok ? std::optional<std::string>(r->out_value) : std::nullopt);
      history.push_back(*r);
    }
  }

  const verdict v = check(history);
  const auto lost = lost_writes(history, finals);
  std::size_t acked_writes = 0, acked = 0;
  for (const operation& o : history) {
    if (o.result != op_result::unknown) ++acked;
    if (o.kind != op_kind::get && o.result == op_result::ok) ++acked_writes;
  }
  std::ostringstream faults;
  for (const auto& [kind, n] : nem.counts()) faults << "\n  " << kind << ": " << n;
  MESSAGE("faults injected: " << nem.total() << faults.str() << "\noperations checked: " << v.operations
                              << " (answered " << acked << ", unknown outcome " << v.unknown
                              << "); writes reported not applied " << t.not_applied << ", reads unanswered "
                              << t.reads_lost << ", refused " << t.rejected << "\nlinearizability violations: "
                              << v.violations << "\nacknowledged writes checked: " << acked_writes
                              << ", lost: " << lost.size());
  for (const key_verdict& k : v.keys) {
    CAPTURE(k.key);
    CHECK_MESSAGE(k.linearizable, k.why);
  }
  for (const std::string& l : lost) FAIL_CHECK("acknowledged write lost: " << l);
  CHECK(v.violations == 0);
  CHECK(lost.empty());
  // The run must have done real work through the faults, or it proves nothing.
  CHECK(nem.total() >= seconds.count() / 4);
  CHECK(acked_writes >= static_cast<std::size_t>(seconds.count()) * 5);
  if (v.violations != 0 || !lost.empty()) {
    for (std::uint64_t id = 1; id <= c.size(); ++id) MESSAGE("node " << id << " log:\n" << c.log(id));
  }
}
