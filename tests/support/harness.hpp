// tests/support/harness.hpp: core nodes wired to in-memory disks and a network
// the test controls by hand. Shared by the paper tests, the scenario runner and
// (through test_node) the simulator.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core.hpp>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace raftkv::test {

using core::entry;
using core::index_t;
using core::message;
using core::message_type;
using core::no_node;
using core::node_id;
using core::role;
using core::term_t;

/// Thrown by the test assert handler so a failed invariant fails one test (or
/// one simulator seed) with its trace instead of aborting the whole binary.
struct invariant_violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void throwing_assert_handler(std::string_view cond, std::string_view msg,
                                                 std::string_view file, int line) {
  throw invariant_violation(std::string(msg) + " (" + std::string(cond) + ") at " +
                            std::string(file) + ":" + std::to_string(line));
}

/// Installs throwing_assert_handler for the lifetime of the object.
struct throwing_asserts {
  throwing_asserts() : previous(set_assert_handler(&throwing_assert_handler)) {}
  ~throwing_asserts() { set_assert_handler(previous); }
  throwing_asserts(const throwing_asserts&) = delete;
  throwing_asserts& operator=(const throwing_asserts&) = delete;
  assert_handler previous;
};

/// The test state machine's snapshot format: every applied entry, in order.
inline std::string encode_applied(const std::vector<entry>& applied) {
  std::string out;
  const auto put = [&](std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  for (const entry& e : applied) {
    put(e.term);
    put(e.index);
    put(static_cast<std::uint64_t>(e.type));
    put(e.data.size());
    out += e.data;
  }
  return out;
}

inline std::vector<entry> decode_applied(const std::string& data) {
  std::vector<entry> out;
  std::size_t at = 0;
  const auto get = [&] {
    std::uint64_t v = 0;
    RAFTKV_ASSERT(at + sizeof v <= data.size(), "test snapshot truncated");
    std::memcpy(&v, data.data() + at, sizeof v);
    at += sizeof v;
    return v;
  };
  while (at < data.size()) {
    entry e;
    e.term = get();
    e.index = get();
    e.type = static_cast<core::entry_type>(get());
    const std::uint64_t n = get();
    RAFTKV_ASSERT(at + n <= data.size(), "test snapshot truncated");
    e.data = data.substr(at, n);
    at += n;
    out.push_back(std::move(e));
  }
  return out;
}

/// One node: the core, its disk (which survives crashes) and its state machine
/// (the list of applied entries, rebuilt from the snapshot and the log after a
/// restart).
struct test_node {
  core::config cfg;
  core::memory_storage disk;
  /// Compaction: once this many entries were applied since the last snapshot,
  /// snapshot the state machine and drop all but `compact_keep` entries behind
  /// it. 0: never.
  std::size_t compact_threshold = 0;
  std::size_t compact_keep = 0;
  std::size_t snapshots_taken = 0, snapshots_restored = 0;
  std::unique_ptr<core::node> raft;       ///< null while crashed
  std::vector<entry> applied;             ///< state machine: entries applied, in order
  std::vector<core::read_state> reads;    ///< confirmed reads not yet taken by the test
  std::vector<std::uint64_t> reads_dropped;
  std::vector<core::event> events;        ///< events not yet taken by the test

  bool alive() const { return raft != nullptr; }

  void start() {
    raft = std::make_unique<core::node>(cfg, disk);
    const core::snapshot snap = disk.latest_snapshot().value();
    applied = snap.empty() ? std::vector<entry>{} : decode_applied(*snap.data);
    RAFTKV_ASSERT(applied.size() == snap.last.index, "a snapshot holds every entry it covers");
  }
  void crash() { raft.reset(); }

  /// Handles one ready the way ready.hpp prescribes, appending outgoing
  /// messages to `out`. When `crash_before_persist` says so for a ready, the
  /// node sends its "now" messages and dies before anything reaches the disk.
  /// `inspect` sees the ready after it was persisted and applied, before
  /// advance(). Returns false when there was nothing to do.
  bool handle_ready(std::vector<message>& out,
                    const std::function<bool(const core::ready&)>& crash_before_persist = {},
                    const std::function<void(const core::ready&)>& inspect = {}) {
    if (!alive() || !raft->has_ready()) return false;
    core::ready rd = raft->get_ready();
    for (auto& e : rd.events) events.push_back(std::move(e));
    out.insert(out.end(), rd.messages.begin(), rd.messages.end());
    if (crash_before_persist && crash_before_persist(rd)) {
      crash();
      return true;
    }
    if (rd.snapshot) disk.apply_snapshot(*rd.snapshot);
    if (rd.hard) disk.set_hard_state(*rd.hard);
    disk.append(rd.entries);
    out.insert(out.end(), rd.messages_after_persist.begin(), rd.messages_after_persist.end());
    if (rd.snapshot) {
      applied = decode_applied(*rd.snapshot->data);
      RAFTKV_ASSERT(applied.size() == rd.snapshot->last.index, "a snapshot holds every entry it covers");
      ++snapshots_restored;
    }
    for (const entry& e : rd.committed_entries) {
      RAFTKV_ASSERT(e.index == applied.size() + 1, "entries are applied in order, once");
      applied.push_back(e);
    }
    reads.insert(reads.end(), rd.read_states.begin(), rd.read_states.end());
    reads_dropped.insert(reads_dropped.end(), rd.reads_dropped.begin(), rd.reads_dropped.end());
    if (inspect) inspect(rd);
    raft->advance(rd);
    maybe_compact();
    return true;
  }

  /// Snapshots the state machine and compacts the log once compact_threshold
  /// entries were applied since the last snapshot.
  void maybe_compact() {
    const index_t last_snapshot = disk.latest_snapshot_id().index;
    if (compact_threshold == 0 || applied.size() < last_snapshot + compact_threshold) return;
    const index_t at = applied.size();
    auto done = disk.create_snapshot(at, std::make_shared<const std::string>(encode_applied(applied)));
    RAFTKV_ASSERT(done.has_value(), "a snapshot at the applied index is newer than the last");
    ++snapshots_taken;
    if (at > compact_keep) disk.compact(at - compact_keep);
  }

  /// Data of the applied normal entries, in order (the no-ops left out).
  std::vector<std::string> applied_data() const {
    std::vector<std::string> out;
    for (const entry& e : applied) {
      if (e.type == core::entry_type::normal) out.push_back(e.data);
    }
    return out;
  }
};

/// A config for node `id` of a cluster of `n` with small, test-friendly timers.
inline core::config test_config(node_id id, std::size_t n) {
  core::config c;
  c.id = id;
  for (node_id v = 1; v <= n; ++v) c.voters.push_back(v);
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.seed = id * 7919 + 1;
  return c;
}

/// A cluster on a network the test drives: messages wait in `in_flight` until
/// delivered; cut links drop them.
class cluster {
 public:
  explicit cluster(std::size_t n, const std::function<void(core::config&)>& tweak = {}) {
    for (node_id id = 1; id <= n; ++id) {
      auto& tn = nodes_[id];
      tn.cfg = test_config(id, n);
      if (tweak) tweak(tn.cfg);
      tn.start();
    }
  }

  test_node& at(node_id id) { return nodes_.at(id); }
  core::node& raft(node_id id) {
    auto& tn = nodes_.at(id);
    RAFTKV_ASSERT(tn.alive(), "test touched a crashed node");
    return *tn.raft;
  }
  std::vector<node_id> ids() const {
    std::vector<node_id> out;
    for (const auto& [id, _] : nodes_) out.push_back(id);
    return out;
  }

  std::vector<message> in_flight;  ///< sent, not yet delivered, oldest first

  /// Handles every pending ready of every node; messages go to in_flight.
  void process() {
    bool again = true;
    while (again) {
      again = false;
      for (auto& [id, tn] : nodes_) {
        std::vector<message> out;
        while (tn.handle_ready(out)) again = true;
        for (auto& m : out) send(std::move(m));
      }
    }
  }

  /// Delivers what is in flight now (not what the deliveries produce).
  /// Returns the messages delivered.
  std::vector<message> deliver() {
    std::vector<message> batch = std::move(in_flight);
    in_flight.clear();
    for (const message& m : batch) {
      auto& tn = nodes_.at(m.to);
      if (tn.alive()) (void)tn.raft->step(m);
    }
    return batch;
  }

  /// process() and deliver() until nothing moves. Returns the messages delivered.
  std::vector<message> stabilize(int max_rounds = 1000) {
    std::vector<message> all;
    process();
    for (int i = 0; i < max_rounds && !in_flight.empty(); ++i) {
      auto batch = deliver();
      all.insert(all.end(), batch.begin(), batch.end());
      process();
    }
    RAFTKV_ASSERT(in_flight.empty(), "the cluster did not stabilize");
    return all;
  }

  void tick(node_id id, int n = 1) {
    for (int i = 0; i < n; ++i) raft(id).tick();
  }
  /// Runs an election for `id` and stabilizes; asserts it won.
  void elect(node_id id) {
    (void)raft(id).campaign();
    stabilize();
    RAFTKV_ASSERT(raft(id).state() == role::leader, "elect(): the node did not win");
  }

  /// Cuts `a` off from everyone (both directions).
  void isolate(node_id a) {
    for (node_id b : ids()) {
      if (b != a) {
        cut(a, b);
        cut(b, a);
      }
    }
  }
  void cut(node_id from, node_id to) { cut_.insert({from, to}); }
  void heal() { cut_.clear(); }

  void crash(node_id id) {
    nodes_.at(id).crash();
    std::erase_if(in_flight, [&](const message& m) { return m.to == id; });  // it cannot receive
  }
  void restart(node_id id) { nodes_.at(id).start(); }

 private:
  void send(message m) {
    if (cut_.count({m.from, m.to}) != 0) return;
    in_flight.push_back(std::move(m));
  }

  std::map<node_id, test_node> nodes_;
  std::set<std::pair<node_id, node_id>> cut_;  ///< links (from, to) that drop everything
};

}  // namespace raftkv::test
