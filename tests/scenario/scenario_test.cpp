// tests/scenario/scenario_test.cpp: Raft scenarios as data, in the manner of
// etcd's datadriven interaction tests.
//
// Each file in tests/scenario/testdata/ is a list of blocks: command lines, a
// line `----`, then the expected output, ended by a blank line. Lines starting
// with `#` between blocks are comments. The command language (README.md in this
// directory) drives a cluster of core nodes on a network the script controls.
// With RAFTKV_REWRITE=1 the expected outputs are replaced by the actual ones;
// the diff is then reviewed like code. After every command the runner checks
// every node's invariants, Election Safety and State Machine Safety.
#include "support/harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#ifndef RAFTKV_SOURCE_DIR
#error "RAFTKV_SOURCE_DIR must name the repository root"
#endif

namespace raftkv::test {
namespace {

namespace fs = std::filesystem;

/// A script that cannot run: unknown command, bad argument. Always fails the file.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

// -- one command line -------------------------------------------------------

/// `name pos1 pos2 key=value ...`
struct command {
  std::string name;
  std::vector<std::string> args;
  std::map<std::string, std::string> opts;
  std::vector<std::string> words;  ///< every word after the name, `=` or not
};

command parse_command(const std::string& line) {
  std::istringstream in(line);
  command c;
  in >> c.name;
  for (std::string word; in >> word;) {
    c.words.push_back(word);
    const auto eq = word.find('=');
    if (eq == std::string::npos) {
      c.args.push_back(word);
    } else {
      c.opts[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  return c;
}

/// Throws unless `c` has between min and max positional arguments and only `keys` as options.
void expect_shape(const command& c, std::size_t min, std::size_t max,
                  std::initializer_list<const char*> keys = {}) {
  if (c.args.size() < min || c.args.size() > max) {
    throw usage_error(str(c.name, ": expected ", min, "..", max, " arguments, got ", c.args.size()));
  }
  for (const auto& [key, _] : c.opts) {
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; })) {
      throw usage_error(str(c.name, ": unknown option ", key));
    }
  }
}

std::uint64_t to_number(const std::string& s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) throw usage_error("not a number: " + s);
  return v;
}

std::optional<std::uint64_t> opt_number(const command& c, const std::string& key) {
  auto it = c.opts.find(key);
  if (it == c.opts.end()) return std::nullopt;
  return to_number(it->second);
}

bool opt_bool(const command& c, const std::string& key, bool fallback) {
  auto it = c.opts.find(key);
  if (it == c.opts.end()) return fallback;
  if (it->second != "true" && it->second != "false") throw usage_error(key + " takes true or false");
  return it->second == "true";
}

// -- formatting ---------------------------------------------------------------

std::string fmt_id(term_t term, index_t index) { return str(term, "/", index); }

std::string fmt_entry(const entry& e) {
  return fmt_id(e.term, e.index) + " " + (e.type == core::entry_type::noop ? "noop" : e.data);
}

std::string fmt_entries(const std::vector<entry>& ents) {
  std::string out = "[";
  for (const entry& e : ents) out += (out.size() > 1 ? ", " : "") + fmt_entry(e);
  return out + "]";
}

/// Fields of `m` that matter for its type (types.hpp documents their meaning).
std::string fmt_fields(const message& m) {
  switch (m.type) {
    case message_type::request_vote:
    case message_type::request_pre_vote:
      return str(" last=", fmt_id(m.log_term, m.index),
                 m.context == core::vote_context_transfer ? " transfer" : "");
    case message_type::request_vote_resp:
    case message_type::request_pre_vote_resp: return m.reject ? " refused" : " granted";
    case message_type::append_entries:
      return str(" prev=", fmt_id(m.log_term, m.index), " entries=", fmt_entries(m.entries),
                 " commit=", m.commit);
    case message_type::append_entries_resp:
      if (!m.reject) return str(" match=", m.index);
      return str(" rejected prev=", m.index, " hint=(term ", m.log_term, " from index ",
                 m.reject_hint, ")");
    case message_type::heartbeat:
      return str(" commit=", m.commit, m.context != 0 ? str(" read-round=", m.context) : "");
    case message_type::heartbeat_resp:
      return m.context != 0 ? str(" read-round=", m.context) : "";
    case message_type::read_index: return str(" ctx=", m.context);
    case message_type::read_index_resp:
      return m.reject ? str(" ctx=", m.context, " refused") : str(" ctx=", m.context, " index=", m.index);
    case message_type::timeout_now: return "";
    case message_type::install_snapshot:
      return str(" snap=", fmt_id(m.log_term, m.index), " bytes=", m.context, "+", m.chunk.size(),
                 "/", m.snapshot_size);
    case message_type::install_snapshot_resp:
      return str(" snap=", fmt_id(m.log_term, m.index), " have=", m.context,
                 m.reject ? " gave-up" : "");
  }
  return "";
}

std::string fmt_message(const message& m) {
  return str(m.from, "->", m.to, " ", core::to_string(m.type), " term=", m.term, fmt_fields(m));
}

// -- the cluster --------------------------------------------------------------

/// Which in-flight messages a `deliver` or `drop` takes.
struct message_filter {
  std::optional<node_id> from;
  std::optional<node_id> to;
  std::optional<std::string> type;
  bool operator()(const message& m) const {
    return (!from || m.from == *from) && (!to || m.to == *to) &&
           (!type || core::to_string(m.type) == *type);
  }
};

/// Nodes on a hand-driven network. A message waits in flight until a command
/// delivers it; it is lost when its link is cut at delivery time (or when
/// `heal` finds it on a cut link), or when its receiver crashes. Every line of
/// output goes to `out`.
class world {
 public:
  /// Where the following commands print.
  void print_to(std::vector<std::string>& out) { out_ = &out; }

  void create(std::size_t n, const std::function<void(core::config&)>& tweak);
  test_node& at(node_id id);
  core::node& live(node_id id);
  std::vector<node_id> ids() const;
  const std::vector<message>& in_flight() const { return in_flight_; }

  /// Handles every ready of `id`: prints its events and reads, queues its messages.
  void process(node_id id, const std::string& indent = "");
  void process_all();
  /// Delivers the matching messages in flight now; each receiver handles its
  /// ready at once. Returns how many were taken.
  std::size_t deliver(const message_filter& f);
  /// Delivers until nothing is in flight.
  void stabilize();
  /// Removes the matching messages in flight, printing them as lost `why`.
  void drop(const std::function<bool(const message&)>& f, const std::string& why);
  void tick(node_id id, int n);
  /// `n` rounds of: every live node ticks once, then the network stabilizes.
  /// Messages are not printed, events are.
  void run(int n);

  void cut(node_id a, node_id b) { cut_.insert({a, b}); }
  bool is_cut(node_id a, node_id b) const { return cut_.count({a, b}) != 0; }
  void heal();
  void crash(node_id id);
  void restart(node_id id);

  /// Election Safety, State Machine Safety and each node's own invariants.
  void check();

 private:
  void print_lost(const std::vector<message>& lost, const std::string& why);

  std::vector<std::string>* out_ = nullptr;  ///< output of the block being run
  std::map<node_id, test_node> nodes_;
  std::vector<message> in_flight_;             ///< sent, not delivered, oldest first
  std::set<std::pair<node_id, node_id>> cut_;  ///< links (from, to) that lose messages
  bool quiet_ = false;                         ///< `run`: do not print messages
  std::map<term_t, node_id> leaders_;          ///< every leader seen, by term
  std::map<index_t, entry> applied_;           ///< every entry any node applied, by index
};

void world::create(std::size_t n, const std::function<void(core::config&)>& tweak) {
  if (n < 1 || n > 9) throw usage_error("cluster: n must be 1..9");
  nodes_.clear();
  in_flight_.clear();
  cut_.clear();
  leaders_.clear();
  applied_.clear();
  for (node_id id = 1; id <= n; ++id) {
    test_node& tn = nodes_[id];
    tn.cfg = test_config(id, n);
    tweak(tn.cfg);
    if (!tn.cfg.validate()) throw usage_error("cluster: the options give an invalid config");
    tn.start();
  }
}

test_node& world::at(node_id id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) throw usage_error(str("no node ", id));
  return it->second;
}

core::node& world::live(node_id id) {
  test_node& tn = at(id);
  if (!tn.alive()) throw usage_error(str("node ", id, " is down"));
  return *tn.raft;
}

std::vector<node_id> world::ids() const {
  std::vector<node_id> out;
  for (const auto& [id, _] : nodes_) out.push_back(id);
  return out;
}

void world::process(node_id id, const std::string& indent) {
  test_node& tn = at(id);
  std::vector<message> sent;
  while (tn.handle_ready(sent)) {
  }
  const std::string who = str(indent, id, ": ");
  for (const core::event& e : tn.events) out_->push_back(who + e.text);
  for (const core::read_state& r : tn.reads) {
    out_->push_back(str(who, "read ctx=", r.context, " may be served once index ", r.index,
                       " is applied (applied: ", tn.raft->log().applied(), ")"));
  }
  for (std::uint64_t ctx : tn.reads_dropped) out_->push_back(str(who, "read ctx=", ctx, " dropped"));
  tn.events.clear();
  tn.reads.clear();
  tn.reads_dropped.clear();
  in_flight_.insert(in_flight_.end(), sent.begin(), sent.end());
}

void world::process_all() {
  for (auto& [id, tn] : nodes_) {
    if (tn.alive()) process(id);
  }
}

void world::print_lost(const std::vector<message>& lost, const std::string& why) {
  if (quiet_) return;
  // One line per link and type, in order of first appearance.
  std::vector<std::pair<std::string, int>> groups;
  for (const message& m : lost) {
    const std::string key = str(m.from, "->", m.to, " ", core::to_string(m.type));
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) {
      groups.emplace_back(key, 1);
    } else {
      ++it->second;
    }
  }
  for (const auto& [key, count] : groups) {
    out_->push_back(str("lost ", key, count > 1 ? str(" x", count) : "", " (", why, ")"));
  }
}

std::size_t world::deliver(const message_filter& f) {
  std::vector<message> batch;
  std::vector<message> keep;
  for (message& m : in_flight_) (f(m) ? batch : keep).push_back(std::move(m));
  in_flight_ = std::move(keep);
  std::vector<message> cut_off;
  std::vector<message> to_down;
  const std::string indent = quiet_ ? "" : "  ";
  for (message& m : batch) {
    if (is_cut(m.from, m.to)) {
      cut_off.push_back(std::move(m));
    } else if (!at(m.to).alive()) {
      to_down.push_back(std::move(m));
    } else {
      if (!quiet_) out_->push_back(fmt_message(m));
      const node_id to = m.to;
      auto r = at(to).raft->step(std::move(m));
      if (!r) out_->push_back(str(indent, to, ": step failed: ", r.error().message()));
      process(to, indent);
    }
  }
  print_lost(cut_off, "link cut");
  print_lost(to_down, "receiver down");
  return batch.size();
}

void world::stabilize() {
  process_all();
  for (int round = 0; !in_flight_.empty(); ++round) {
    if (round == 1000) throw usage_error("stabilize: still busy after 1000 rounds");
    deliver({});
  }
}

void world::drop(const std::function<bool(const message&)>& f, const std::string& why) {
  std::vector<message> lost;
  std::erase_if(in_flight_, [&](const message& m) {
    if (!f(m)) return false;
    lost.push_back(m);
    return true;
  });
  print_lost(lost, why);
}

void world::tick(node_id id, int n) {
  for (int i = 0; i < n; ++i) {
    live(id).tick();
    process(id);
  }
}

void world::run(int n) {
  quiet_ = true;
  for (int i = 0; i < n; ++i) {
    for (auto& [id, tn] : nodes_) {
      if (tn.alive()) tick(id, 1);
    }
    stabilize();
  }
  quiet_ = false;
}

void world::heal() {
  drop([&](const message& m) { return is_cut(m.from, m.to); }, "sent while the link was cut");
  cut_.clear();
}

void world::crash(node_id id) {
  live(id);
  at(id).crash();
  drop([&](const message& m) { return m.to == id; }, "receiver crashed");
}

void world::restart(node_id id) {
  if (at(id).alive()) throw usage_error(str("restart: node ", id, " is running"));
  at(id).start();
  process(id);
}

void world::check() {
  for (auto& [id, tn] : nodes_) {
    if (!tn.alive()) continue;
    tn.raft->check_invariants();
    if (tn.raft->state() == role::leader) {
      auto [it, fresh] = leaders_.try_emplace(tn.raft->term(), id);
      if (!fresh && it->second != id) {
        throw invariant_violation(str("Election Safety: ", it->second, " and ", id,
                                      " both led term ", it->first));
      }
    }
    for (const entry& e : tn.applied) {
      auto [it, fresh] = applied_.try_emplace(e.index, e);
      if (!fresh && !(it->second == e)) {
        throw invariant_violation(str("State Machine Safety: ", id, " applied ", fmt_entry(e),
                                      " where another node applied ", fmt_entry(it->second)));
      }
    }
  }
}

// -- commands -------------------------------------------------------------------

/// Runs one command against `w`, printing to `out`.
using handler = void (*)(world& w, const command& c, std::vector<std::string>& out);

node_id arg_node(const command& c, std::size_t i) { return to_number(c.args.at(i)); }

void print_error(std::vector<std::string>& out, node_id id, const result<void>& r) {
  if (!r) out.push_back(str(id, ": error: ", r.error().message()));
}

void cmd_cluster(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 0, 0, {"n", "pre_vote", "check_quorum", "max_append", "max_inflight"});
  const auto n = opt_number(c, "n").value_or(3);
  w.create(n, [&](core::config& cfg) {
    cfg.pre_vote = opt_bool(c, "pre_vote", cfg.pre_vote);
    cfg.check_quorum = opt_bool(c, "check_quorum", cfg.check_quorum);
    cfg.max_append_entries = opt_number(c, "max_append").value_or(cfg.max_append_entries);
    cfg.max_inflight_appends = opt_number(c, "max_inflight").value_or(cfg.max_inflight_appends);
  });
}

void cmd_campaign(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 1, 1);
  const node_id id = arg_node(c, 0);
  print_error(out, id, w.live(id).campaign());
  w.process(id);
}

void cmd_tick(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 1, 2);
  w.tick(arg_node(c, 0), c.args.size() > 1 ? static_cast<int>(to_number(c.args[1])) : 1);
}

void cmd_tick_election(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 1, 1);
  const node_id id = arg_node(c, 0);
  const core::node_status s = w.live(id).status();
  w.tick(id, std::max(1, s.election_timeout - s.election_elapsed));
}

void cmd_tick_heartbeat(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 1, 1);
  const node_id id = arg_node(c, 0);
  w.tick(id, w.at(id).cfg.heartbeat_ticks);
}

void cmd_run(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 1, 1);
  w.run(static_cast<int>(to_number(c.args[0])));
}

void cmd_propose(world& w, const command& c, std::vector<std::string>& out) {
  // Commands are the words as written, `=` included; one ready carries them all.
  if (c.words.size() < 2) throw usage_error("propose: expected a node and data");
  const node_id id = to_number(c.words[0]);
  for (std::size_t i = 1; i < c.words.size(); ++i) {
    auto r = w.live(id).propose(c.words[i]);
    if (r) {
      out.push_back(str(id, ": proposed ", fmt_id(r->term, r->index), " ", c.words[i]));
    } else {
      out.push_back(str(id, ": error: ", r.error().message()));
    }
  }
  w.process(id);
}

void cmd_read_index(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 2, 2);
  const node_id id = arg_node(c, 0);
  print_error(out, id, w.live(id).read_index(to_number(c.args[1])));
  w.process(id);
}

void cmd_transfer(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 1, 1, {"to"});
  const node_id id = arg_node(c, 0);
  const auto target = opt_number(c, "to");
  if (!target) throw usage_error("transfer: to= is required");
  print_error(out, id, w.live(id).transfer_leader(*target));
  w.process(id);
}

message_filter parse_filter(const command& c) {
  expect_shape(c, 0, 0, {"from", "to", "type"});
  message_filter f;
  f.from = opt_number(c, "from");
  f.to = opt_number(c, "to");
  if (auto it = c.opts.find("type"); it != c.opts.end()) f.type = it->second;
  return f;
}

void cmd_deliver(world& w, const command& c, std::vector<std::string>& out) {
  if (w.deliver(parse_filter(c)) == 0) out.push_back("no messages delivered");
}

void cmd_drop(world& w, const command& c, std::vector<std::string>&) {
  w.drop(parse_filter(c), "dropped by the script");
}

void cmd_process(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 0, 0);
  w.process_all();
}

void cmd_stabilize(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 0, 0);
  w.stabilize();
}

void cmd_pending(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 0, 0);
  for (const message& m : w.in_flight()) out.push_back(fmt_message(m));
  if (w.in_flight().empty()) out.push_back("no messages in flight");
}

void cmd_isolate(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 1, 1);
  const node_id a = arg_node(c, 0);
  w.at(a);
  for (node_id b : w.ids()) {
    if (b == a) continue;
    w.cut(a, b);
    w.cut(b, a);
  }
}

void cmd_cut(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 2, 2);
  const node_id a = arg_node(c, 0);
  const node_id b = arg_node(c, 1);
  w.at(a);
  w.at(b);
  w.cut(a, b);
  w.cut(b, a);
}

void cmd_heal(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 0, 0);
  w.heal();
}

void cmd_crash(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 1, 1);
  w.crash(arg_node(c, 0));
}

void cmd_restart(world& w, const command& c, std::vector<std::string>&) {
  expect_shape(c, 1, 1);
  w.restart(arg_node(c, 0));
}

/// The nodes named by `c`, or all of them.
std::vector<node_id> selected(world& w, const command& c) {
  if (c.args.empty()) return w.ids();
  std::vector<node_id> out;
  for (std::size_t i = 0; i < c.args.size(); ++i) out.push_back(w.at(arg_node(c, i)).cfg.id);
  return out;
}

std::string status_line(test_node& tn) {
  if (!tn.alive()) {
    const core::hard_state hs = tn.disk.initial_hard_state();
    const index_t last = tn.disk.last_index();
    return str(tn.cfg.id, ": down (on disk: term=", hs.term, " vote=", hs.vote, " commit=", hs.commit,
               " last=", fmt_id(tn.disk.term(last).value(), last), ")");
  }
  const core::node_status s = tn.raft->status();
  return str(s.id, ": ", core::to_string(s.state), " term=", s.term, " vote=", s.vote,
             " leader=", s.leader, " commit=", s.commit, " applied=", s.applied,
             " last=", fmt_id(s.last_term, s.last_index));
}

void cmd_status(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 0, 9);
  for (node_id id : selected(w, c)) out.push_back(status_line(w.at(id)));
}

void cmd_timers(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 0, 9);
  for (node_id id : selected(w, c)) {
    if (!w.at(id).alive()) {
      out.push_back(str(id, ": down"));
      continue;
    }
    const core::node_status s = w.live(id).status();
    out.push_back(str(id, ": ", core::to_string(s.state), " elapsed=", s.election_elapsed,
                      " timeout=", s.election_timeout));
  }
}

void cmd_log(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 1, 1);
  test_node& tn = w.at(arg_node(c, 0));
  std::vector<entry> ents;
  index_t commit = 0;
  if (tn.alive()) {
    const core::raft_log& log = tn.raft->log();
    ents = log.slice(log.first_index(), log.last_index() + 1, UINT64_MAX, SIZE_MAX).value();
    commit = log.committed();
  } else {
    ents = tn.disk.entries(tn.disk.first_index(), tn.disk.last_index() + 1, UINT64_MAX).value();
    commit = tn.disk.initial_hard_state().commit;
  }
  for (const entry& e : ents) out.push_back(fmt_entry(e) + (e.index > commit ? " (not committed)" : ""));
  if (ents.empty()) out.push_back("empty log");
}

void cmd_applied(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 1, 1);
  const test_node& tn = w.at(arg_node(c, 0));
  for (const entry& e : tn.applied) out.push_back(fmt_entry(e));
  if (tn.applied.empty()) out.push_back("nothing applied");
}

void cmd_progress(world& w, const command& c, std::vector<std::string>& out) {
  expect_shape(c, 1, 1);
  const node_id id = arg_node(c, 0);
  const core::node_status s = w.live(id).status();
  if (s.state != role::leader) throw usage_error(str("progress: node ", id, " is not the leader"));
  for (const core::peer_status& p : s.peers) {
    out.push_back(str(p.id, ": match=", p.match, " next=", p.next, " ", core::to_string(p.state),
                      " inflight=", p.inflight, p.recent_active ? " active" : " inactive"));
  }
}

const std::map<std::string, handler, std::less<>>& handlers() {
  static const std::map<std::string, handler, std::less<>> table{
      {"cluster", cmd_cluster}, {"campaign", cmd_campaign}, {"tick", cmd_tick},
      {"tick-election", cmd_tick_election}, {"tick-heartbeat", cmd_tick_heartbeat},
      {"run", cmd_run}, {"propose", cmd_propose}, {"read-index", cmd_read_index},
      {"transfer", cmd_transfer}, {"deliver", cmd_deliver}, {"drop", cmd_drop},
      {"process", cmd_process}, {"stabilize", cmd_stabilize}, {"pending", cmd_pending},
      {"isolate", cmd_isolate}, {"cut", cmd_cut}, {"heal", cmd_heal}, {"crash", cmd_crash},
      {"restart", cmd_restart}, {"status", cmd_status}, {"timers", cmd_timers},
      {"log", cmd_log}, {"applied", cmd_applied}, {"progress", cmd_progress},
  };
  return table;
}

/// Runs the command lines of one block; returns its output ("ok" when silent).
std::vector<std::string> run_block(world& w, bool& has_cluster, const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  w.print_to(out);
  for (const std::string& line : lines) {
    const command c = parse_command(line);
    auto it = handlers().find(c.name);
    if (it == handlers().end()) throw usage_error("unknown command: " + c.name);
    if (c.name != "cluster" && !has_cluster) throw usage_error("the first command must be `cluster`");
    has_cluster = true;
    it->second(w, c, out);
    w.check();
  }
  if (out.empty()) out.push_back("ok");
  return out;
}

// -- files ------------------------------------------------------------------------

/// Commands, `----`, expected output.
struct block {
  int line = 0;  ///< 1-based line of the first command
  std::vector<std::string> commands;
  std::vector<std::string> expected;
};

/// A file as comment/blank lines (kept verbatim) and blocks, in order.
using script = std::vector<std::variant<std::string, block>>;

script parse_script(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw usage_error("cannot read " + path.string());
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(l);
  }
  script s;
  for (std::size_t i = 0; i < lines.size();) {
    if (lines[i].empty() || lines[i][0] == '#') {
      s.emplace_back(lines[i++]);
      continue;
    }
    block b;
    b.line = static_cast<int>(i + 1);
    for (; i < lines.size() && lines[i] != "----"; ++i) {
      if (lines[i].empty()) throw usage_error(str(path.filename().string(), ":", b.line, ": block has no ----"));
      b.commands.push_back(lines[i]);
    }
    if (i == lines.size()) throw usage_error(str(path.filename().string(), ":", b.line, ": block has no ----"));
    for (++i; i < lines.size() && !lines[i].empty(); ++i) b.expected.push_back(lines[i]);
    s.emplace_back(std::move(b));
  }
  return s;
}

void write_script(const fs::path& path, const script& s) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& part : s) {
    if (const auto* raw = std::get_if<std::string>(&part)) {
      out << *raw << '\n';
      continue;
    }
    const block& b = std::get<block>(part);
    for (const std::string& l : b.commands) out << l << '\n';
    out << "----\n";
    for (const std::string& l : b.expected) out << l << '\n';
  }
}

/// A line diff (longest common subsequence): "  " same, "- " expected only, "+ " actual only.
std::string line_diff(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> lcs(n + 1, std::vector<std::size_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      out += "  " + a[i++] + "\n";
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out += "- " + a[i++] + "\n";
    } else {
      out += "+ " + b[j++] + "\n";
    }
  }
  return out;
}

std::string mismatch_report(const fs::path& path, const block& b, const std::vector<std::string>& actual) {
  std::string text = str(path.string(), ":", b.line, ": output differs (- expected, + actual) for\n");
  for (const std::string& l : b.commands) text += "  > " + l + "\n";
  return text + line_diff(b.expected, actual);
}

bool rewrite_requested() {
  const char* v = std::getenv("RAFTKV_REWRITE");
  return v != nullptr && std::string_view(v) == "1";
}

/// Runs every block of `path` in order; fails (or, rewriting, updates) each mismatch.
void run_file(const fs::path& path, bool rewrite) {
  script s;
  try {
    s = parse_script(path);
  } catch (const std::exception& e) {
    FAIL_CHECK(std::string(e.what()));
    return;
  }
  world w;
  bool has_cluster = false;
  bool changed = false;
  for (auto& part : s) {
    auto* b = std::get_if<block>(&part);
    if (b == nullptr) continue;
    std::vector<std::string> actual;
    try {
      actual = run_block(w, has_cluster, b->commands);
    } catch (const std::exception& e) {
      // A broken script or a broken invariant: later blocks would be meaningless.
      FAIL_CHECK(str(path.string(), ":", b->line, ": ", e.what()));
      return;
    }
    if (actual == b->expected) continue;
    if (rewrite) {
      b->expected = std::move(actual);
      changed = true;
    } else {
      FAIL_CHECK(mismatch_report(path, *b, actual));
    }
  }
  if (changed) {
    write_script(path, s);
    MESSAGE("rewrote " << path.string());
  }
}

std::vector<fs::path> scenario_files() {
  const fs::path dir = fs::path(RAFTKV_SOURCE_DIR) / "tests" / "scenario" / "testdata";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST_CASE("scenarios in tests/scenario/testdata") {
  throwing_asserts guard;
  const std::vector<fs::path> files = scenario_files();
  REQUIRE_FALSE(files.empty());
  const bool rewrite = rewrite_requested();
  for (const fs::path& f : files) {
    const std::string name = f.filename().string();
    SUBCASE(name.c_str()) {
      CAPTURE(name);
      run_file(f, rewrite);
    }
  }
}

}  // namespace
}  // namespace raftkv::test
