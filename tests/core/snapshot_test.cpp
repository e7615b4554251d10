// Log compaction and InstallSnapshot (Raft paper §7, Figure 13), one TEST_CASE
// per rule, on the hand-driven cluster of tests/support/harness.hpp.
#include "support/harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>

namespace {

using namespace raftkv::test;
using raftkv::core::progress_state;
using raftkv::core::snapshot;

constexpr std::uint64_t chunk_bytes = 100;

/// Three nodes that snapshot every 10 applied entries, keeping none behind.
cluster compacting_cluster() {
  cluster c(3, [](raftkv::core::config& cfg) { cfg.snapshot_chunk_bytes = chunk_bytes; });
  for (node_id id : c.ids()) c.at(id).compact_threshold = 10;
  return c;
}

/// Node 1 leads; node 3 misses `n` committed proposals and the leader compacts them away.
void leave_node3_behind(cluster& c, int n) {
  c.elect(1);
  c.isolate(3);
  for (int i = 0; i < n; ++i) {
    REQUIRE(c.raft(1).propose("v" + std::to_string(i)).has_value());
    c.stabilize();
  }
  c.heal();
  REQUIRE(c.raft(1).log().first_index() > c.raft(3).log().last_index() + 1);
}

std::size_t count(const std::vector<message>& ms, message_type t) {
  return static_cast<std::size_t>(std::count_if(ms.begin(), ms.end(), [&](const message& m) { return m.type == t; }));
}

std::size_t chunks_of(cluster& c, node_id leader) {
  const snapshot s = c.at(leader).disk.latest_snapshot().value();
  return static_cast<std::size_t>((s.size_bytes() + chunk_bytes - 1) / chunk_bytes);
}

}  // namespace

TEST_CASE("§7: a follower behind the leader's first index catches up by snapshot, in chunks") {
  throwing_asserts guard;
  cluster c = compacting_cluster();
  leave_node3_behind(c, 30);
  const index_t snap_index = c.at(1).disk.latest_snapshot_id().index;
  CHECK(snap_index >= 30);
  const std::size_t chunks = chunks_of(c, 1);
  REQUIRE(chunks > 3);

  c.tick(1);  // a heartbeat: node 3 answers and the leader finds it needs the snapshot
  const auto delivered = c.stabilize();
  CHECK(count(delivered, message_type::install_snapshot) == chunks);
  CHECK(c.at(3).snapshots_restored == 1);
  CHECK(c.at(3).applied_data() == c.at(1).applied_data());
  CHECK(c.raft(3).log().committed() == c.raft(1).log().committed());
  CHECK(c.raft(3).log().first_index() > 1);

  // Afterwards it is replicated to by plain appends again.
  REQUIRE(c.raft(1).propose("after").has_value());
  const auto later = c.stabilize();
  CHECK(count(later, message_type::install_snapshot) == 0);
  CHECK(c.at(3).applied_data().back() == "after");
  const auto st = c.raft(1).status();
  for (const auto& p : st.peers) CHECK(p.state == progress_state::replicate);
}

TEST_CASE("§7: a lost chunk is sent again after two quiet heartbeats") {
  throwing_asserts guard;
  cluster c = compacting_cluster();
  leave_node3_behind(c, 30);
  c.tick(1);
  c.process();
  // Deliver until the second chunk is on the wire, then lose it.
  bool dropped = false;
  for (int round = 0; round < 20 && !dropped; ++round) {
    for (auto it = c.in_flight.begin(); it != c.in_flight.end(); ++it) {
      if (it->type == message_type::install_snapshot && it->context == chunk_bytes) {
        c.in_flight.erase(it);
        dropped = true;
        break;
      }
    }
    if (!dropped) {
      c.deliver();
      c.process();
    }
  }
  REQUIRE(dropped);
  c.stabilize();
  CHECK(c.at(3).snapshots_restored == 0);  // stuck without the chunk
  CHECK(c.raft(3).status().incoming_snapshot_bytes == chunk_bytes);

  c.tick(1);
  const auto first_quiet = c.stabilize();
  CHECK(count(first_quiet, message_type::install_snapshot) == 0);  // one quiet heartbeat is not enough
  c.tick(1);
  const auto resent = c.stabilize();
  CHECK(count(resent, message_type::install_snapshot) == chunks_of(c, 1) - 1);
  CHECK(c.at(3).snapshots_restored == 1);
  CHECK(c.at(3).applied_data() == c.at(1).applied_data());
}

TEST_CASE("§7: a follower that restarts mid-transfer receives the snapshot from byte 0") {
  throwing_asserts guard;
  cluster c = compacting_cluster();
  leave_node3_behind(c, 30);
  c.tick(1);
  c.process();
  // Let two chunks arrive, then crash node 3 (its partial snapshot is in memory only).
  int chunks_seen = 0;
  for (int round = 0; round < 20 && chunks_seen < 2; ++round) {
    for (const message& m : c.deliver()) chunks_seen += m.type == message_type::install_snapshot;
    c.process();
  }
  REQUIRE(chunks_seen == 2);
  c.crash(3);
  c.restart(3);
  std::vector<message> all;
  for (int i = 0; i < 6; ++i) {
    c.tick(1);
    const auto d = c.stabilize();
    all.insert(all.end(), d.begin(), d.end());
  }
  const bool restarted_from_zero = std::any_of(all.begin(), all.end(), [](const message& m) {
    return m.type == message_type::install_snapshot && m.context == 0;
  });
  CHECK(restarted_from_zero);
  CHECK(c.at(3).snapshots_restored == 1);
  CHECK(c.at(3).applied_data() == c.at(1).applied_data());
}

TEST_CASE("§7: duplicated chunks and answers never start a second stream") {
  throwing_asserts guard;
  cluster c = compacting_cluster();
  leave_node3_behind(c, 30);
  c.tick(1);
  c.process();
  std::size_t sent = 0;
  for (int round = 0; round < 200 && !c.in_flight.empty(); ++round) {
    std::vector<message> doubled;
    for (const message& m : c.in_flight) {
      doubled.push_back(m);
      if (m.type == message_type::install_snapshot || m.type == message_type::install_snapshot_resp) {
        doubled.push_back(m);
      }
    }
    c.in_flight = std::move(doubled);
    for (const message& m : c.deliver()) sent += m.type == message_type::install_snapshot;
    c.process();
  }
  CHECK(c.in_flight.empty());
  CHECK(c.at(3).snapshots_restored == 1);
  // Each chunk travels twice (the duplication itself), and nothing more.
  CHECK(sent == 2 * chunks_of(c, 1));
}

TEST_CASE("§7: a follower that holds the snapshot's last entry keeps its log and learns the commit") {
  throwing_asserts guard;
  cluster c(3);
  c.elect(1);
  for (int i = 0; i < 5; ++i) REQUIRE(c.raft(1).propose("v" + std::to_string(i)).has_value());
  c.stabilize();
  // Node 2 stores two more entries, then is cut off before it hears they committed.
  for (int i = 0; i < 2; ++i) REQUIRE(c.raft(1).propose("w").has_value());
  c.process();
  c.deliver();
  c.process();
  c.isolate(2);
  c.stabilize();
  c.heal();
  const index_t last = c.raft(2).log().last_index();
  const term_t t = c.raft(2).log().last_term();
  const index_t commit_before = c.raft(2).log().committed();

  SUBCASE("beyond its commit: commit moves, no restore") {
    message m{.type = message_type::install_snapshot, .from = 1, .to = 2, .term = c.raft(1).term(),
              .log_term = t, .index = last, .context = 0, .snapshot_size = 3, .chunk = "abc"};
    REQUIRE(commit_before < last);  // node 2's log already holds entry (t, last)
    REQUIRE(c.raft(2).step(m).has_value());
    CHECK(c.raft(2).log().committed() == last);
    std::vector<message> out;
    CHECK(c.at(2).handle_ready(out));
    CHECK(c.at(2).snapshots_restored == 0);
    REQUIRE(out.size() == 1);
    CHECK(out[0].type == message_type::append_entries_resp);
    CHECK(out[0].index == last);
    CHECK(c.raft(2).log().last_index() == last);
  }
  SUBCASE("at or below its commit: nothing to do but say where it is") {
    message m{.type = message_type::install_snapshot, .from = 1, .to = 2, .term = c.raft(1).term(),
              .log_term = 1, .index = 1, .context = 0, .snapshot_size = 3, .chunk = "abc"};
    REQUIRE(commit_before >= 1);
    REQUIRE(c.raft(2).step(m).has_value());
    std::vector<message> out;
    CHECK(c.at(2).handle_ready(out));
    CHECK(c.at(2).snapshots_restored == 0);
    REQUIRE(out.size() == 1);
    CHECK(out[0].type == message_type::append_entries_resp);
    CHECK(out[0].index == commit_before);
  }
}

TEST_CASE("§7: a follower refuses a snapshot above its size limit; the leader probes again") {
  throwing_asserts guard;
  cluster c(3, [](raftkv::core::config& cfg) {
    cfg.snapshot_chunk_bytes = chunk_bytes;
    if (cfg.id == 3) cfg.max_snapshot_bytes = 50;
  });
  for (node_id id : c.ids()) c.at(id).compact_threshold = 10;
  leave_node3_behind(c, 30);
  c.tick(1);
  c.process();
  bool refused = false;
  for (int round = 0; round < 10 && !c.in_flight.empty(); ++round) {
    for (const message& m : c.deliver()) {
      refused = refused || (m.type == message_type::install_snapshot_resp && m.reject);
    }
    c.process();
    if (refused) break;
  }
  CHECK(refused);
  CHECK(c.at(3).snapshots_restored == 0);
  const auto st = c.raft(1).status();
  const auto p3 = std::find_if(st.peers.begin(), st.peers.end(), [](const auto& p) { return p.id == 3; });
  REQUIRE(p3 != st.peers.end());
  CHECK(p3->state != progress_state::snapshot);
}

TEST_CASE("§7: malformed InstallSnapshot messages are refused") {
  throwing_asserts guard;
  cluster c(3);
  c.elect(1);
  const message good{.type = message_type::install_snapshot, .from = 1, .to = 2, .term = c.raft(1).term(),
                     .log_term = 1, .index = 5, .context = 0, .snapshot_size = 4, .chunk = "ab"};
  CHECK(c.raft(2).well_formed(good));
  struct bad_case {
    const char* what;
    message m;
  };
  std::vector<bad_case> cases;
  cases.push_back({"index 0", good});
  cases.back().m.index = 0;
  cases.push_back({"term 0", good});
  cases.back().m.log_term = 0;
  cases.push_back({"last term beyond the message term", good});
  cases.back().m.log_term = good.term + 1;
  cases.push_back({"offset past the end", good});
  cases.back().m.context = 5;
  cases.push_back({"chunk past the end", good});
  cases.back().m.context = 3;
  cases.push_back({"huge offset wrapping around", good});
  cases.back().m.context = UINT64_MAX;
  cases.push_back({"an empty snapshot", good});
  cases.back().m.snapshot_size = 0;
  cases.back().m.chunk.clear();
  for (const auto& bc : cases) {
    CAPTURE(bc.what);
    CHECK_FALSE(c.raft(2).well_formed(bc.m));
    CHECK(c.raft(2).step(bc.m).error() == raftkv::errc::bad_message);
  }
}

TEST_CASE("§7: a node restarted after compaction resumes from its snapshot without re-applying") {
  throwing_asserts guard;
  cluster c = compacting_cluster();
  for (node_id id : c.ids()) c.at(id).compact_keep = 3;
  c.elect(1);
  for (int i = 0; i < 25; ++i) {
    REQUIRE(c.raft(1).propose("v" + std::to_string(i)).has_value());
    c.stabilize();
  }
  const auto before = c.at(2).applied_data();
  const index_t snap = c.at(2).disk.latest_snapshot_id().index;
  REQUIRE(snap >= 20);
  CHECK(c.at(2).disk.first_index() == snap - 3 + 1);  // three entries kept behind it
  c.crash(2);
  c.restart(2);
  CHECK(c.raft(2).log().applied() == snap);  // the state machine came from the snapshot
  CHECK(c.at(2).applied.size() == snap);
  c.tick(1);
  c.stabilize();  // re-applies only what follows the snapshot (the harness asserts the order)
  CHECK(c.at(2).applied_data() == before);
}

TEST_CASE("§7: a snapshot the state machine refuses leaves the log alone and is not offered again") {
  throwing_asserts guard;
  int checked = 0;
  cluster c(3, [&](raftkv::core::config& cfg) {
    cfg.snapshot_chunk_bytes = chunk_bytes;
    if (cfg.id == 3) {
      cfg.accept_snapshot = [&](raftkv::core::entry_id, const std::string&) {
        ++checked;
        return false;
      };
    }
  });
  for (node_id id : c.ids()) c.at(id).compact_threshold = 10;
  leave_node3_behind(c, 30);
  const index_t last_before = c.raft(3).log().last_index();
  std::size_t chunks_sent = 0;
  for (int i = 0; i < 10; ++i) {
    c.tick(1);
    chunks_sent += count(c.stabilize(), message_type::install_snapshot);
  }
  CHECK(checked == 1);
  CHECK(chunks_sent == chunks_of(c, 1));  // sent once, never again
  CHECK(c.at(3).snapshots_restored == 0);
  CHECK(c.raft(3).log().last_index() == last_before);

  // A newer snapshot is offered again (and refused again).
  for (int i = 0; i < 10; ++i) REQUIRE(c.raft(1).propose("more").has_value());
  c.stabilize();
  for (int i = 0; i < 3; ++i) {
    c.tick(1);
    c.stabilize();
  }
  CHECK(checked == 2);
}

TEST_CASE("storage: released snapshot data is read back through the loader, one copy shared") {
  throwing_asserts guard;
  raftkv::core::memory_storage s;
  s.append(std::vector<raftkv::core::entry>{{.term = 1, .index = 1}, {.term = 2, .index = 2}});
  REQUIRE(s.create_snapshot(2, std::make_shared<const std::string>("state at 2")).has_value());
  CHECK(s.holds_snapshot_data());
  int loads = 0;
  bool fail = false;
  s.set_snapshot_loader([&](raftkv::core::entry_id id) -> raftkv::result<std::shared_ptr<const std::string>> {
    ++loads;
    CHECK(id == raftkv::core::entry_id{2, 2});
    if (fail) return raftkv::make_error_code(raftkv::errc::snapshot_unreadable);
    return std::make_shared<const std::string>("state at 2");
  });
  s.release_snapshot_data({1, 2});  // not the newest snapshot's id: kept
  CHECK(s.holds_snapshot_data());
  s.release_snapshot_data({2, 2});
  CHECK_FALSE(s.holds_snapshot_data());
  CHECK(s.latest_snapshot_id() == raftkv::core::entry_id{2, 2});
  CHECK(loads == 0);  // the id alone never reads
  {
    const auto a = s.latest_snapshot();
    REQUIRE(a.has_value());
    CHECK(*a->data == "state at 2");
    const auto b = s.latest_snapshot();  // while `a` is held: the same bytes, not read again
    REQUIRE(b.has_value());
    CHECK(b->data == a->data);
    CHECK(loads == 1);
  }
  fail = true;
  const auto c = s.latest_snapshot();  // nobody held it: read again, and that fails
  CHECK(loads == 2);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error() == raftkv::errc::snapshot_unreadable);
}

TEST_CASE("§7: a snapshot that cannot be read back is not sent; the next one is") {
  throwing_asserts guard;
  cluster c = compacting_cluster();
  leave_node3_behind(c, 30);
  auto& leader_disk = c.at(1).disk;
  bool readable = false;
  int reads_ok = 0;
  std::shared_ptr<const std::string> kept;  // what the leader's "file" holds once readable
  leader_disk.set_snapshot_loader([&](raftkv::core::entry_id) -> raftkv::result<std::shared_ptr<const std::string>> {
    if (!readable) return raftkv::make_error_code(raftkv::errc::snapshot_unreadable);
    ++reads_ok;
    return kept;
  });
  leader_disk.release_snapshot_data(leader_disk.latest_snapshot_id());
  const index_t last_before = c.raft(3).log().last_index();
  std::size_t chunks_sent = 0;
  for (int i = 0; i < 5; ++i) {
    c.tick(1);
    chunks_sent += count(c.stabilize(), message_type::install_snapshot);
  }
  CHECK(chunks_sent == 0);
  CHECK(c.raft(3).log().last_index() == last_before);
  const auto& events = c.at(1).events;
  const auto said = std::count_if(events.begin(), events.end(), [](const raftkv::core::event& e) {
    return e.text.find("cannot be read back") != std::string::npos;
  });
  CHECK(said == 1);  // once per snapshot, not once per heartbeat

  // The next snapshot (taken by the harness after 10 more entries) is sent,
  // read back from its "file". Node 3 is cut off meanwhile, so that the
  // leader offers it only after its data was released.
  c.isolate(3);
  for (int i = 0; i < 10; ++i) REQUIRE(c.raft(1).propose("more").has_value());
  c.stabilize();
  c.heal();
  REQUIRE(leader_disk.latest_snapshot_id().index > last_before);
  readable = true;
  // A copy, as a file would hold: the storage's own bytes go on release.
  kept = std::make_shared<const std::string>(*leader_disk.latest_snapshot().value().data);
  leader_disk.release_snapshot_data(leader_disk.latest_snapshot_id());
  for (int i = 0; i < 3; ++i) {
    c.tick(1);
    chunks_sent += count(c.stabilize(), message_type::install_snapshot);
  }
  CHECK(chunks_sent > 0);
  CHECK(reads_ok == 1);
  CHECK(c.at(3).snapshots_restored == 1);
  CHECK(c.at(3).applied_data() == c.at(1).applied_data());
}
