// The lessons of docs/lessons/ as tests: each one starts the real playground
// (scripts/playground.sh, detached, free ports, temp data), types what the
// lesson tells the learner to type into the same tmux panes, and checks that
// the screens and /v1/status show what the lesson says. Every phrase checked
// on screen or in the events is also checked to appear in the lesson's text
// (lesson::says), so the two cannot drift apart.
#include "integration/cluster.hpp"
#include "integration/playground.hpp"
#include "integration/tmux.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

using namespace raftkv::itest;
using namespace std::chrono_literals;

namespace {

/// One lesson's text.
class lesson {
 public:
  explicit lesson(const std::string& file) {
    std::ifstream in(source_dir() + "/docs/lessons/" + file);
    REQUIRE_MESSAGE(in.good(), "missing docs/lessons/" << file);
    std::ostringstream s;
    s << in.rdbuf();
    text_ = s.str();
    // The lesson's text as the learner reads it: line breaks are spaces.
    for (char& c : text_) c = c == '\n' ? ' ' : c;
  }
  /// `phrase`, after checking that the lesson says it.
  std::string says(const std::string& phrase) const {
    CHECK_MESSAGE(text_.find(phrase) != std::string::npos, "the lesson does not say: " << phrase);
    return phrase;
  }

 private:
  std::string text_;
};

std::string node(int id) { return "node" + std::to_string(id); }
std::string port(std::uint16_t p) { return std::to_string(p); }

/// The members other than `a` (and `b`), lowest first.
int other(const playground& pg, int a, int b = 0) {
  for (int id = 1; id <= pg.nodes(); ++id) {
    if (id != a && id != b) return id;
  }
  return 0;
}

std::uint64_t num(const nlohmann::json& j, const char* field) {
  return j.is_object() && j[field].is_number() ? j[field].get<std::uint64_t>() : 0;
}

/// Types `:` and a command line into a node's pane.
void console(const playground& pg, int id, const std::string& command) {
  pg.type(node(id), ":");
  pg.line(node(id), command);
}

/// Node `id`'s recent events, one per line (for failure messages).
std::string events_text(const playground& pg, int id) {
  std::string out = "events of node " + std::to_string(id) + ":\n";
  const nlohmann::json s = pg.status(id);
  if (!s.is_object()) return out + "(unreachable)\n";
  for (const auto& e : s["events"]) {
    out += std::to_string(e.value("at_ms", 0)) + " t" + std::to_string(e.value("term", 0)) + " " +
           e.value("text", std::string()) + "\n";
  }
  return out;
}

/// A lesson's text and a fresh playground with a leader elected.
struct lesson_run {
  lesson doc;
  playground pg;
  int l = 0;  ///< the leader when the lesson starts
  explicit lesson_run(const std::string& file, playground_options o = {},
                      std::chrono::milliseconds election = std::chrono::seconds(20))
      : doc(file), pg(o), l(pg.leader(election)) {
    REQUIRE(l != 0);
  }
};

}  // namespace

TEST_CASE("lesson 1: a put is replicated, committed by a majority and applied everywhere") {
  lesson_run run("01-log-replication.md", {.slow = true}, 40s);
  const lesson& doc = run.doc;
  const playground& pg = run.pg;
  const int l = run.l;
  CHECK(pg.shows("node1", doc.says("delay 400ms")));
  CHECK(pg.shows(node(l), doc.says("LEADER")));
  const std::uint64_t term = num(pg.status(l), "term");
  const std::uint64_t next = num(pg.status(l), "last_index") + 1;

  // 1. The entry shows on the leader uncommitted first, then everywhere applied.
  pg.line("client", doc.says("put greeting hello"));
  doc.says("○");
  CHECK(pg.shows(node(l), "○ " + std::to_string(next) + " t" + std::to_string(term) + " put greeting=hello"));
  // "also ○" on a follower: it holds the entry before it learns the commit.
  CHECK(pg.shows(node(other(pg, l)), "○ " + std::to_string(next) + " t" + std::to_string(term) + " put greeting=hello"));
  doc.says("appears, also `○`, in each follower's log");
  CHECK(pg.shows("client", doc.says("OK rev 1"), true, 30s));
  CHECK(eventually([&] { return !pg.event(l, doc.says("commit advanced to") + " " + std::to_string(next)).empty(); }));
  CHECK(pg.event(l, "commit advanced to " + std::to_string(next)).find(doc.says("stored on")) != std::string::npos);
  for (int id = 1; id <= 3; ++id) {
    CAPTURE(id);
    CHECK(pg.shows(node(id), "● " + std::to_string(next) + " t" + std::to_string(term) + " put greeting=hello", false, 30s));
    CHECK(pg.shows(node(id), doc.says("greeting = hello"), false, 30s));
  }

  // 2. One follower paused: the leader and the other follower still commit.
  const int paused = other(pg, l);
  const int live = other(pg, l, paused);
  pg.keys(node(paused), "p");
  CHECK(pg.shows(node(paused), doc.says("PAUSED")));
  pg.line("client", doc.says("put lang c++20"));
  CHECK(pg.shows("client", doc.says("OK rev 2"), true, 30s));
  const std::string commit = "commit advanced to " + std::to_string(next + 1) + ": stored on ";
  CHECK(eventually([&] { return !pg.event(l, commit).empty(); }));
  const std::string stored = pg.event(l, commit);
  CAPTURE(stored);
  CHECK(stored.find(std::to_string(live)) != std::string::npos);
  CHECK(stored.find(std::to_string(paused), commit.size()) == std::string::npos);
  const nlohmann::json ps = pg.status(paused);
  REQUIRE(ps.is_object());  // a paused node still answers HTTP
  CHECK(num(ps, "last_index") == next);
  CHECK(pg.shows(node(l), doc.says("(silent)"), false, 30s));

  // 3. Resumed, it catches up.
  pg.keys(node(paused), "p");
  CHECK(pg.shows(node(paused), doc.says("lang = c++20"), false, 30s));
}

TEST_CASE("lesson 2: a follower redirects; the client rides out the leader's death") {
  lesson_run run("02-client-redirection.md");
  const lesson& doc = run.doc;
  const playground& pg = run.pg;
  const int l = run.l;
  const std::uint64_t term = num(pg.status(l), "term");
  const int f = other(pg, l);

  // 1. A follower's redirect, through raftkv-client --trace and plain HTTP.
  pg.line("shell", "raftkv-client --peers 127.0.0.1:" + port(pg.api_port(f)) + " --trace put greeting hello");
  CHECK(pg.shows("shell", doc.says("307 not leader (hint ") + std::to_string(l) + ")", true));
  CHECK(pg.shows("shell", doc.says("200 OK rev 1"), true));
  const reply r = http(pg.api_port(f), "PUT", "/v1/kv/greeting", "hello");
  CHECK(r.status == 307);
  doc.says("307 Temporary Redirect");
  doc.says("Location:");
  CHECK(r.header("location").find(port(pg.api_port(l))) != std::string::npos);

  // 2. Ctrl+C stops the leader; 3. a put typed at once retries until the new leader answers.
  pg.keys(node(l), "C-c");
  REQUIRE(pg.shows(node(l), doc.says("stopped (exit code 0)")));
  pg.line("client", doc.says("put after failover"));
  CHECK(pg.shows("client", doc.says("connection refused"), true));
  CHECK(pg.shows("client", doc.says("200 OK"), true));
  // The leader as the live nodes agree on it, and its pane: asked again until
  // they match, since under load (the ASan build beside other tests) a first
  // leader can lose a CheckQuorum round before its pane is looked at.
  int m = 0;
  const bool shown = eventually(
      [&] {
        m = pg.leader(10s, l);
        return m != 0 && pg.capture(node(m)).find("LEADER") != std::string::npos;
      },
      40s, 500ms);
  REQUIRE_MESSAGE(shown, "leader " << m << (m != 0 ? "'s pane:\n" + pg.capture(node(m)) : std::string()));
  CHECK(num(pg.status(m), "term") > term);

  // 4. Enter restarts the old leader; it follows and catches up.
  pg.keys(node(l), "Enter");
  CHECK(pg.shows(node(l), doc.says("FOLLOWER")));
  CHECK(pg.shows(node(l), doc.says("after = failover")));
}

TEST_CASE("lesson 3: an isolated node serves old data on a stale read and refuses a linearizable one") {
  lesson_run run("03-stale-and-linearizable-reads.md");
  const lesson& doc = run.doc;
  const playground& pg = run.pg;
  const int l = run.l;
  pg.line("client", doc.says("put color red"));
  CHECK(pg.shows("client", "OK rev 1", true));

  pg.keys(node(l), "i");
  CHECK(pg.shows(node(l), doc.says("ISOLATED")));
  const int m = pg.leader(20s, l);
  REQUIRE(m != 0);
  CHECK(eventually([&] { return pg.has_event(l, "not a majority (CheckQuorum)"); }, 20s));
  pg.line("client", doc.says("put color blue"));
  CHECK(pg.shows("client", doc.says("OK rev 2"), true));

  const nlohmann::json ls = pg.status(l);
  REQUIRE(ls.is_object());
  console(pg, l, doc.says("get color --stale"));
  CHECK(pg.shows(node(l), doc.says("(stale, from this node at applied index") + " " +
                              std::to_string(num(ls, "applied")) + doc.says("): \"red\"")));
  console(pg, l, doc.says("get color"));
  CHECK(pg.shows(node(l), doc.says("get \"color\": linearizable read failed (no_leader)")));

  pg.line("client", "get color");
  CHECK(pg.shows("client", "raftkv> get color " + doc.says("blue"), true));

  pg.keys(node(l), "i");
  CHECK(eventually([&] { return num(pg.status(l), "leader") == static_cast<std::uint64_t>(m); }, 20s));
  CHECK(eventually([&] { return num(pg.status(l), "applied") >= num(pg.status(m), "commit"); }, 20s));
  console(pg, l, "get color --stale");
  doc.says("now answers `\"blue\"`");
  CHECK(pg.shows(node(l), ": \"blue\""));
}

TEST_CASE("lesson 4: slow messages make split votes repeat; fast ones end them") {
  lesson_run run("04-split-votes.md");
  const lesson& doc = run.doc;
  const playground& pg = run.pg;
  const int l = run.l;
  const int a = other(pg, l), b = other(pg, l, a);
  CHECK(pg.shows(node(a), doc.says("election timer")));
  const std::uint64_t term = num(pg.status(a), "term");

  for (int id : {a, b}) {
    pg.keys(node(id), "l");
    pg.line(node(id), doc.says("500"));
    CHECK(pg.shows(node(id), doc.says("delay 500ms")));
  }
  doc.says("/v1/admin/isolate; sleep 1");
  doc.says("/v1/admin/campaign & done; wait");
  pg.line("shell", "curl -X POST http://127.0.0.1:" + port(pg.api_port(l)) + "/v1/admin/isolate; sleep 1; for p in " +
                       port(pg.api_port(a)) + " " + port(pg.api_port(b)) +
                       "; do curl -s -X POST http://127.0.0.1:$p/v1/admin/campaign & done; wait");
  const std::string refused = doc.says("we already voted for");
  const bool split = eventually([&] { return pg.has_event(a, refused) && pg.has_event(b, refused); }, 20s);
  CAPTURE(events_text(pg, a));
  CAPTURE(events_text(pg, b));
  CHECK(split);
  for (int id : {a, b}) {
    CAPTURE(id);
    CHECK(pg.has_event(id, doc.says("won the pre-election")));
    CHECK(pg.has_event(id, "starting an election for term " + std::to_string(term + 1)));
    CHECK(pg.has_event(id, doc.says("vote refused to") + " " + std::to_string(a + b - id) + ": we already voted for " +
                               std::to_string(id) + " in term " + std::to_string(term + 1)));
  }
  CHECK(eventually(
      [&] {
        return pg.has_event(a, doc.says("our election got no majority within")) ||
               pg.has_event(b, "our election got no majority within");
      },
      20s));
  CHECK(eventually([&] { return std::max(num(pg.status(a), "term"), num(pg.status(b), "term")) >= term + 2; }, 20s));

  for (int id : {a, b}) {
    pg.keys(node(id), "l");
    pg.line(node(id), "0");
  }
  const int m = pg.leader(30s, l);
  REQUIRE((m == a || m == b));
  CHECK(pg.has_event(m, doc.says("won the election for term")));
  CHECK(pg.shows(node(m), "LEADER"));
  pg.keys(node(l), "i");
  CHECK(eventually([&] { return num(pg.status(l), "leader") == static_cast<std::uint64_t>(m); }, 20s));
}

TEST_CASE("lesson 5: an isolated leader steps down; with PreVote it rejoins without an election") {
  lesson_run run("05-checkquorum-and-prevote.md");
  const lesson& doc = run.doc;
  const playground& pg = run.pg;
  const int l = run.l;
  const std::uint64_t term = num(pg.status(l), "term");

  pg.keys(node(l), "i");
  CHECK(pg.shows(node(l), doc.says("ISOLATED")));
  CHECK(pg.shows(node(l), doc.says("quorum check")));
  CHECK(eventually([&] { return pg.has_event(l, doc.says("not a majority (CheckQuorum)")); }, 20s));
  CHECK(pg.has_event(l, doc.says("stepping down: in the last 10 ticks we heard from 0 of the other 2 members; "
                                 "with ourselves that is 1 of 3")));
  const int m = pg.leader(20s, l);
  REQUIRE(m != 0);
  const std::uint64_t new_term = num(pg.status(m), "term");
  CHECK(new_term > term);

  // The isolated node keeps trying pre-elections; its term does not move.
  CHECK(eventually([&] { return pg.has_event(l, doc.says("our pre-election got no majority within")); }, 20s));
  CHECK(pg.has_event(l, doc.says("asking for pre-votes for term")));
  CHECK(pg.shows(node(l), doc.says("PRE-CANDIDATE")));
  std::this_thread::sleep_for(3s);
  CHECK(num(pg.status(l), "term") == term);

  pg.keys(node(l), "i");
  CHECK(eventually([&] { return num(pg.status(l), "leader") == static_cast<std::uint64_t>(m); }, 20s));
  CHECK(num(pg.status(l), "term") == new_term);
  const nlohmann::json ms = pg.status(m);
  CHECK(ms.value("role", std::string()) == "leader");
  CHECK(num(ms, "term") == new_term);
}

TEST_CASE("lesson 6: a write an isolated leader accepted is overwritten after healing") {
  lesson_run run("06-log-conflict-repair.md");
  const lesson& doc = run.doc;
  const playground& pg = run.pg;
  const int l = run.l;
  const std::uint64_t at = num(pg.status(l), "last_index") + 1;
  const std::uint64_t term = num(pg.status(l), "term");

  doc.says("/v1/admin/isolate && curl -m 1 -X PUT --data never http://127.0.0.1:");
  pg.line("shell", "curl -X POST http://127.0.0.1:" + port(pg.api_port(l)) +
                       "/v1/admin/isolate && curl -m 1 -X PUT --data never http://127.0.0.1:" + port(pg.api_port(l)) +
                       "/v1/kv/lost");
  CHECK(pg.shows("shell", doc.says("Operation timed out"), true));
  CHECK(pg.shows(node(l), "○ " + std::to_string(at) + " t"));
  CHECK(pg.shows(node(l), doc.says("put lost=never")));
  const int m = pg.leader(20s, l);
  REQUIRE(m != 0);
  CHECK(eventually([&] { return pg.has_event(l, "stepping down"); }, 20s));

  pg.line("client", doc.says("put lost found"));
  CHECK(pg.shows("client", "OK rev", true));
  pg.keys(node(l), "i");
  CHECK(eventually([&] { return pg.has_event(l, "removed our entries from index " + std::to_string(at) + " " +
                                                     doc.says("on: they conflict with leader")); },
                   20s));
  CHECK(pg.shows(node(l), doc.says("↳ replaced term") + " " + std::to_string(term) + ": " +
                               doc.says("put lost=never")));
  CHECK(pg.shows(node(l), doc.says("lost = found")));
  pg.line("client", doc.says("get lost"));
  CHECK(pg.shows("client", "raftkv> get lost " + doc.says("found"), true));
}

TEST_CASE("lesson 7: a node that missed compacted entries catches up by snapshot") {
  lesson_run run("07-snapshot-catch-up.md");
  const lesson& doc = run.doc;
  const playground& pg = run.pg;
  const int l = run.l;
  const int f = other(pg, l);
  pg.keys(node(f), "C-c");
  REQUIRE(pg.shows(node(f), doc.says("stopped (exit code 0)")));

  doc.says("for i in $(seq 1 250); do raftkv-client put key$i value$i >/dev/null; done");
  pg.line("shell", "for i in $(seq 1 250); do raftkv-client put key$i value$i >/dev/null; done; echo loop''-done");
  REQUIRE(pg.shows("shell", "loop-done", true, 120s));
  CHECK(num(pg.status(l)["kv"], "keys") == 250);

  pg.keys(node(l), "s");
  CHECK(eventually([&] { return pg.has_event(l, doc.says("snapshot taken at applied index")); }));
  const nlohmann::json ls = pg.status(l);
  const std::uint64_t snap = num(ls, "snapshot_index"), first = num(ls, "first_index");
  CHECK(snap == num(ls, "applied"));
  CHECK(first == snap - 20 + 1);  // --compact-keep 20
  CHECK(pg.shows(node(l), doc.says("snapshot ") + std::to_string(snap) + " (term"));
  CHECK(pg.shows(node(l), doc.says("── snapshot ≤") + " " + std::to_string(snap) + " (term"));
  // Tab to the Log pane, Home to its oldest entry: the start of the kept tail.
  doc.says("then Home, shows its oldest entry");
  CHECK(eventually([&] {
    pg.keys(node(l), "Tab Home");
    return pg.capture(node(l)).find("● " + std::to_string(first) + " t") != std::string::npos;
  }, 10s, 500ms));

  pg.keys(node(f), "Enter");
  CHECK(eventually([&] { return pg.has_event(l, doc.says("but our log starts at") + " " + std::to_string(first)); }, 30s));
  CHECK(eventually([&] { return pg.has_event(f, doc.says("restored the snapshot through index") + " " + std::to_string(snap)); }, 30s));
  CHECK(pg.has_event(f, doc.says("receiving a snapshot through index")));
  CHECK(pg.shows(node(f), doc.says("250 keys")));
}

TEST_CASE("lesson 8: leadership transfer hands over at once, and gives up on a paused target") {
  lesson_run run("08-leadership-transfer.md");
  const lesson& doc = run.doc;
  const playground& pg = run.pg;
  const int l = run.l;
  const std::uint64_t term = num(pg.status(l), "term");
  const int f = other(pg, l), g = other(pg, l, f);

  pg.keys(node(l), "t");
  pg.type(node(l), std::to_string(f));
  CHECK(eventually([&] { return pg.has_event(l, doc.says("sent TimeoutNow so it starts an election")); }));
  CHECK(pg.has_event(l, doc.says("transferring leadership to") + " " + std::to_string(f)));
  CHECK(eventually([&] { return pg.has_event(f, doc.says("starting an election at once (leadership transfer)")); }));
  CHECK(pg.leader() == f);
  CHECK(num(pg.status(f), "term") == term + 1);
  CHECK(pg.shows(node(f), "LEADER"));

  pg.keys(node(g), "p");
  CHECK(pg.shows(node(g), "PAUSED"));
  pg.keys(node(f), "t");
  pg.type(node(f), std::to_string(g));
  CHECK(eventually([&] { return pg.has_event(f, doc.says("did not finish within an election timeout")); }, 20s));
  CHECK(pg.status(f).value("role", std::string()) == "leader");
  pg.line("client", "put after transfer");
  CHECK(pg.shows("client", "OK rev 1", true));
  doc.says("it goes on leading and accepting writes");
  pg.keys(node(g), "p");
  CHECK(eventually([&] { return num(pg.status(g), "applied") == num(pg.status(f), "commit"); }, 20s));
}
