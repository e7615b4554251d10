// node.hpp robustness: messages a correct peer never sends (a buggy or hostile
// one might) are refused or ignored, and the node stays consistent; requests
// whose answers are lost do not wait forever.
#include <doctest/doctest.h>

#include "support/harness.hpp"

#include <limits>
#include <string>
#include <vector>

namespace rt = raftkv::test;
using namespace raftkv::core;

namespace {

/// A 3-node cluster where 1 leads and every node holds entries 1..3 (term 1).
rt::cluster settled_cluster() {
  rt::cluster c(3);
  c.elect(1);
  for (const char* d : {"a", "b"}) {
    REQUIRE(c.raft(1).propose(d).has_value());
  }
  c.stabilize();
  return c;
}

entry ent(term_t t, index_t i) { return entry{.term = t, .index = i, .data = "x"}; }

}  // namespace

TEST_CASE("malformed messages from a peer are refused or ignored without harm") {
  const rt::throwing_asserts guard;  // an assert here would fail the test, not abort
  struct row {
    const char* what;
    node_id target;
    message m;
  };
  const term_t t = 1;
  const std::vector<row> rows = {
      {"term at the top of the range", 2,
       {.type = message_type::heartbeat, .from = 1, .to = 2, .term = std::numeric_limits<term_t>::max()}},
      {"prev index 0 with a non-zero prev term", 2,
       {.type = message_type::append_entries, .from = 1, .to = 2, .term = t, .log_term = 5, .index = 0}},
      {"entries not consecutive", 2,
       {.type = message_type::append_entries, .from = 1, .to = 2, .term = t, .log_term = 1, .index = 3,
        .entries = {ent(1, 4), ent(1, 6)}}},
      {"entries repeating", 2,
       {.type = message_type::append_entries, .from = 1, .to = 2, .term = t, .log_term = 1, .index = 3,
        .entries = {ent(1, 4), ent(1, 5), ent(1, 4)}}},
      {"an entry from a future term", 2,
       {.type = message_type::append_entries, .from = 1, .to = 2, .term = t, .log_term = 1, .index = 3,
        .entries = {ent(7, 4)}}},
      {"an append that would overwrite a committed entry", 2,
       {.type = message_type::append_entries, .from = 3, .to = 2, .term = t, .log_term = 0, .index = 0,
        .entries = {ent(0, 1)}}},
      {"a heartbeat committing past our log", 2,
       {.type = message_type::heartbeat, .from = 1, .to = 2, .term = t, .commit = 1000}},
      {"a second leader of our term", 1,
       {.type = message_type::heartbeat, .from = 2, .to = 1, .term = t, .commit = 3}},
      {"an acknowledgement beyond the leader's log", 1,
       {.type = message_type::append_entries_resp, .from = 2, .to = 1, .term = t, .index = 50}},
      {"a rejection beyond the leader's log", 1,
       {.type = message_type::append_entries_resp, .from = 2, .to = 1, .term = t, .index = 50,
        .reject = true, .reject_hint = 40}},
      {"TimeoutNow from a follower", 2,
       {.type = message_type::timeout_now, .from = 3, .to = 2, .term = t}},
      {"a message from a non-member", 2,
       {.type = message_type::heartbeat, .from = 9, .to = 2, .term = t}},
  };
  for (const row& r : rows) {
    CAPTURE(r.what);
    rt::cluster c = settled_cluster();
    const node_status before = c.raft(r.target).status();
    (void)c.raft(r.target).step(r.m);  // refused (bad_message) or ignored
    c.process();
    c.raft(r.target).check_invariants();
    const node_status after = c.raft(r.target).status();
    CHECK(after.state == before.state);
    CHECK(after.term == before.term);
    CHECK(after.commit == before.commit);
    CHECK(after.last_index == before.last_index);
    CHECK(after.last_term == before.last_term);
    // The cluster still works afterwards.
    c.heal();
    c.in_flight.clear();
    REQUIRE(c.raft(1).propose("after").has_value());
    c.stabilize();
    CHECK(c.at(3).applied_data().back() == "after");
  }
}

TEST_CASE("a forwarded read whose answer is lost is dropped after two election timeouts") {
  rt::cluster c = settled_cluster();
  // The leader keeps heartbeating, so node 2 stays a follower; only the read's
  // request and answer are lost.
  const auto lose_reads = [&] {
    c.process();
    std::erase_if(c.in_flight, [](const message& m) {
      return m.type == message_type::read_index || m.type == message_type::read_index_resp;
    });
    c.stabilize();
  };
  REQUIRE(c.raft(2).read_index(77).has_value());
  lose_reads();
  const int limit = 2 * rt::test_config(2, 3).election_ticks;
  for (int i = 0; i < limit - 1; ++i) {
    c.tick(1);
    c.tick(2);
    lose_reads();
  }
  CHECK(c.raft(2).state() == role::follower);
  CHECK(c.at(2).reads_dropped.empty());
  c.tick(2);
  lose_reads();
  REQUIRE(c.at(2).reads_dropped.size() == 1);
  CHECK(c.at(2).reads_dropped.front() == 77);
}

TEST_CASE("thesis §9.6 a pre-vote grant from an earlier pre-election is not counted") {
  rt::cluster c(3);
  // Node 1 is a pre-candidate in term 0 asking for term 1. A grant that names
  // another term (as a delayed one from an earlier round would) must not count.
  REQUIRE(c.raft(1).campaign());
  c.process();
  c.in_flight.clear();
  REQUIRE(c.raft(1).state() == role::pre_candidate);
  (void)c.raft(1).step({.type = message_type::request_pre_vote_resp, .from = 2, .to = 1, .term = 5});
  c.process();
  CHECK(c.raft(1).state() == role::pre_candidate);
  (void)c.raft(1).step({.type = message_type::request_pre_vote_resp, .from = 2, .to = 1, .term = 1});
  c.process();
  CHECK(c.raft(1).state() == role::candidate);
}

TEST_CASE("thesis §3.10/§6.2 repeated transfer requests do not keep a cut-off leader in place") {
  rt::cluster c = settled_cluster();
  c.isolate(1);
  const int election_ticks = rt::test_config(1, 3).election_ticks;
  // Without its own timer a transfer would restart CheckQuorum's window, and
  // a request every few ticks would keep the leader forever.
  for (int i = 0; i < 3 * election_ticks && c.raft(1).state() == role::leader; ++i) {
    if (i % 3 == 0) (void)c.raft(1).transfer_leader(i % 2 == 0 ? 2 : 3);
    c.tick(1);
    c.process();
    c.in_flight.clear();
  }
  CHECK(c.raft(1).state() == role::follower);
}

TEST_CASE("limits: proposals beyond max_uncommitted_entries and reads beyond max_pending_reads are refused") {
  rt::cluster c(3, [](config& cfg) {
    cfg.max_uncommitted_entries = 5;
    cfg.max_pending_reads = 3;
  });
  c.elect(1);
  c.isolate(1);  // nothing commits and no read round completes: both queues fill
  std::size_t accepted = 0;
  boost::system::error_code last;
  for (int i = 0; i < 20; ++i) {
    auto r = c.raft(1).propose("p" + std::to_string(i));
    if (r) {
      ++accepted;
    } else {
      last = r.error();
    }
  }
  CHECK(accepted >= 1);
  CHECK(accepted <= 5);
  CHECK(last == raftkv::errc::proposal_dropped);
  std::size_t reads = 0;
  boost::system::error_code read_error;
  for (std::uint64_t ctx = 1; ctx <= 10; ++ctx) {
    auto r = c.raft(1).read_index(ctx);
    if (r) {
      ++reads;
    } else {
      read_error = r.error();
    }
  }
  CHECK(reads == 3);
  CHECK(read_error == raftkv::errc::read_queue_full);
  c.heal();
  c.stabilize();
  // Once the cluster is whole the queues drain and take new work again.
  CHECK(c.raft(1).propose("after").has_value());
}
