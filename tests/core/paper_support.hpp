// tests/core/paper_support.hpp: helpers shared by the paper tests
// (paper_test.cpp: Figure 2 and §5; thesis_test.cpp: the thesis extensions).
#pragma once

#include <support/harness.hpp>
#include <raftkv/core.hpp>
#include <algorithm>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace paper {


namespace rt = raftkv::test;
using raftkv::errc;
using namespace raftkv::core;  // the vocabulary of every test below
using enum message_type;

using tweak_fn = std::function<void(config&)>;

/// A failed core invariant fails the running test instead of aborting the binary.
inline const rt::throwing_asserts throwing_asserts_for_every_test;

constexpr int election_ticks = 10;  // rt::test_config's

inline const tweak_fn no_pre_vote = [](config& c) { c.pre_vote = false; };

/// What a node produced over several readies.
struct outbox {
  std::vector<message> now;    ///< ready::messages
  std::vector<message> after;  ///< ready::messages_after_persist
  std::vector<event> events;
  std::vector<entry> entries;
  std::vector<entry> committed;

  std::vector<message> all() const {
    std::vector<message> out = now;
    out.insert(out.end(), after.begin(), after.end());
    return out;
  }
};

/// Handles every ready of `tn` as ready.hpp prescribes (messages are not sent).
inline outbox drain(rt::test_node& tn) {
  outbox box;
  while (tn.raft->has_ready()) {
    ready rd = tn.raft->get_ready();
    if (rd.hard) tn.disk.set_hard_state(*rd.hard);
    tn.disk.append(rd.entries);
    tn.raft->advance(rd);
    box.now.insert(box.now.end(), rd.messages.begin(), rd.messages.end());
    box.after.insert(box.after.end(), rd.messages_after_persist.begin(), rd.messages_after_persist.end());
    box.events.insert(box.events.end(), rd.events.begin(), rd.events.end());
    box.entries.insert(box.entries.end(), rd.entries.begin(), rd.entries.end());
    box.committed.insert(box.committed.end(), rd.committed_entries.begin(), rd.committed_entries.end());
  }
  return box;
}

inline std::vector<message> of_type(const std::vector<message>& ms, message_type t) {
  std::vector<message> out;
  std::copy_if(ms.begin(), ms.end(), std::back_inserter(out), [&](const message& m) { return m.type == t; });
  return out;
}

/// The only message of type `t` in `ms`.
inline message one(const std::vector<message>& ms, message_type t) {
  const auto found = of_type(ms, t);
  REQUIRE(found.size() == 1);
  return found[0];
}

inline std::size_t count_to(const std::vector<message>& ms, message_type t, node_id to) {
  return static_cast<std::size_t>(
      std::count_if(ms.begin(), ms.end(), [&](const message& m) { return m.type == t && m.to == to; }));
}

inline std::set<node_id> recipients(const std::vector<message>& ms) {
  std::set<node_id> out;
  for (const message& m : ms) out.insert(m.to);
  return out;
}

inline bool has_event(const std::vector<event>& evs, event_kind kind, const std::string& text_part = "") {
  return std::any_of(evs.begin(), evs.end(), [&](const event& e) {
    return e.kind == kind && e.text.find(text_part) != std::string::npos;
  });
}

inline std::vector<entry> with_terms(const std::vector<term_t>& terms) {
  std::vector<entry> out;
  for (term_t t : terms) out.push_back(entry{.term = t, .index = out.size() + 1});
  return out;
}

inline void start_node(rt::test_node& tn, node_id id, std::size_t n, const tweak_fn& tweak = {}) {
  tn.cfg = rt::test_config(id, n);
  if (tweak) tweak(tn.cfg);
  tn.start();
}

/// Like start_node, with `terms` and `term` on the disk first.
inline void start_with_log(rt::test_node& tn, node_id id, std::size_t n, const std::vector<term_t>& terms,
                    term_t term, const tweak_fn& tweak = {}) {
  tn.disk.append(with_terms(terms));
  tn.disk.set_hard_state({.term = term});
  start_node(tn, id, n, tweak);
}

inline void step(rt::test_node& tn, message m) {
  m.to = tn.cfg.id;
  REQUIRE(tn.raft->step(std::move(m)).has_value());
}

/// Node 1 of 3, a follower of 2 in term 2, then brought to `r`: pre_candidate
/// (term 2, PreVote on), candidate (term 3) or leader (term 3, voted in by 2).
inline void bring_to(rt::test_node& tn, role r) {
  start_node(tn, 1, 3, [&](config& c) { c.pre_vote = r == role::pre_candidate; });
  step(tn, {.type = heartbeat, .from = 2, .term = 2});
  if (r != role::follower) REQUIRE(tn.raft->campaign().has_value());
  if (r == role::leader) step(tn, {.type = request_vote_resp, .from = 2, .term = 3});
  (void)drain(tn);
  REQUIRE(tn.raft->state() == r);
}

/// Runs the calling test once per role in `roles`, each in its own SUBCASE.
inline role each_role(std::initializer_list<role> roles) {
  role picked = *roles.begin();
  for (const role r : roles) {
    SUBCASE(to_string(r).data()) { picked = r; }
  }
  return picked;
}

/// The entries `tn` holds on disk.
inline std::vector<entry> disk_log(const rt::test_node& tn) {
  auto ents = tn.disk.entries(1, tn.disk.last_index() + 1, UINT64_MAX);
  REQUIRE(ents.has_value());
  return *ents;
}

/// Ticks `id` `n` times, letting the network settle after each tick.
inline void tick_settled(rt::cluster& c, node_id id, int n) {
  for (int i = 0; i < n; ++i) {
    c.tick(id);
    c.stabilize();
  }
}

/// Runs network rounds until `id` leads, leaving its first appends undelivered.
inline void elect_holding_appends(rt::cluster& c, node_id id) {
  REQUIRE(c.raft(id).campaign().has_value());
  c.process();
  for (int i = 0; i < 10 && c.raft(id).state() != role::leader; ++i) {
    (void)c.deliver();
    c.process();
  }
  REQUIRE(c.raft(id).state() == role::leader);
}


}  // namespace paper
