// scripts/playground.sh as a new user meets it: opened from a terminal (an
// outer tmux pane) it shows the panes and the guide; it keeps data between
// runs, stops, wipes, falls back to windows on a small screen, runs five
// nodes, and without a terminal says how to start the pieces by hand.
#include "integration/cluster.hpp"
#include "integration/playground.hpp"
#include "integration/tmux.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <set>
#include <sstream>

using namespace raftkv::itest;
using namespace std::chrono_literals;

namespace {

/// role -> window name, from the playground's tmux server.
std::set<std::string> roles_in(const playground& pg, const std::string& window_filter) {
  std::set<std::string> out;
  auto [ok, text] = sh(pg.tmux() + " list-panes -s -t raftkv -F '#{window_name} #{@raftkv}'");
  std::istringstream in(text);
  std::string w, r;
  while (in >> w >> r) {
    if (window_filter.empty() || w == window_filter) out.insert(r);
  }
  return out;
}

/// True when no process's command line names `dir` (the servers' --data-dir).
bool nothing_runs_in(const std::filesystem::path& dir) {
  return !sh("exec pgrep -f " + shell_quote(dir.string())).first;
}

/// True when none of the three nodes from `base` answers.
bool all_down(std::uint16_t base) {
  for (int i = 0; i < 3; ++i) {
    if (http(static_cast<std::uint16_t>(base + 1000 + i), "GET", "/v1/status", "", {}, 1s).status != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("playground: --help, and bad arguments exit 2 with the reason") {
  auto [ok, help] = sh("bash " + shell_quote(playground_script()) + " --help");
  CHECK(ok);
  CHECK(help.find("--nodes N") != std::string::npos);
  CHECK(help.find("--slow") != std::string::npos);
  auto [bad_ok, bad] = sh("bash " + shell_quote(playground_script()) + " --nodes 4 2>&1; echo \"exit=$?\"");
  CHECK(bad.find("--nodes must be 3 or 5, not '4'") != std::string::npos);
  CHECK(bad.find("exit=2") != std::string::npos);
  auto [bad2_ok, bad2] = sh("bash " + shell_quote(playground_script()) + " --bogus 2>&1; echo \"exit=$?\"");
  CHECK(bad2.find("unknown argument '--bogus'") != std::string::npos);
  CHECK(bad2.find("exit=2") != std::string::npos);
}

TEST_CASE("playground: from a terminal, four panes and the guide; data kept across runs; stop and wipe") {
  // The data directory and ports a playground fixture would use, but the
  // script runs in an outer tmux pane, as from a user's terminal.
  const std::string binaries = "RAFTKV_SERVER=" + shell_quote(server_binary()) + " RAFTKV_CLIENT=" +
                               shell_quote(client_binary());  // may throw: before anything exists
  char tmpl[] = "/tmp/raftkv-playground-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::filesystem::path dir = tmpl;
  const std::string env = binaries + " RAFTKV_PLAYGROUND_TMUX=" +
                          shell_quote((dir / "tmux.sock").string()) + " RAFTKV_PLAYGROUND_LIMIT=300 RAFTKV_PLAYGROUND_SHELL='bash --norc --noprofile'";
  const std::uint16_t base = free_port_block(3);
  const std::string args = " --base-port " + std::to_string(base) + " --data-dir " + shell_quote((dir / "data").string());
  struct cleanup {
    std::string env, args;
    std::filesystem::path dir;
    ~cleanup() {
      sh("env " + env + " bash " + shell_quote(playground_script()) + " stop" + args);
      sh("tmux -S " + shell_quote((dir / "tmux.sock").string()) + " kill-server");
      sh("exec pkill -KILL -f " + shell_quote(dir.string()));
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } done{env, args, dir};

  {
    tmux_session term(200, 50);
    term.open("user", "bash " + shell_quote(playground_script()) + args, env + " TERM=xterm-256color");
    CHECK(eventually([&] { return term.capture("user").find("guide: Enter closes it") != std::string::npos; },
                     screen_wait, screen_poll));
    const std::string first = term.capture("user");
    CHECK(first.find("raftkv playground: 3 nodes and a smart client") != std::string::npos);
    CHECK(first.find("docs/lessons/README.md") != std::string::npos);
    term.enter("user");  // closes the guide
    CHECK(eventually([&] {
      const std::string s = term.capture("user");
      return s.find("guide: Enter closes it") == std::string::npos && s.find("LEADER") != std::string::npos &&
             s.find("raftkv-client 3 nodes") != std::string::npos && s.find("node 3 · Raft 127.0.0.1:") != std::string::npos;
    }, screen_wait, screen_poll));
    auto [ok, panes] = sh("tmux -S " + shell_quote((dir / "tmux.sock").string()) +
                          " list-panes -s -t raftkv -F '#{window_name} #{@raftkv} #{pane_width}x#{pane_height}'");
    CAPTURE(panes);
    CHECK(panes.find("cluster node1") != std::string::npos);
    CHECK(panes.find("cluster client") != std::string::npos);
    CHECK(panes.find("shell shell") != std::string::npos);
  }  // the outer terminal goes away; the playground keeps running

  // A second run attaches to the running playground instead of starting another.
  auto [again_ok, again] = sh("env " + env + " bash " + shell_quote(playground_script()) + " --detach" + args + " </dev/null");
  CHECK(again_ok);
  CHECK(again.find("already running") != std::string::npos);
  CHECK(again.find("note:") == std::string::npos);
  auto [slow_ok, slow] = sh("env " + env + " bash " + shell_quote(playground_script()) + " --detach --slow" + args + " </dev/null");
  CHECK(slow.find("note: --slow --base-port apply only when it starts") != std::string::npos);
  const std::uint16_t api1 = static_cast<std::uint16_t>(base + 1000);
  const std::string peers = "127.0.0.1:" + std::to_string(api1) + ",127.0.0.1:" + std::to_string(api1 + 1) +
                            ",127.0.0.1:" + std::to_string(api1 + 2);
  const run_result put = run_to_exit(client_binary(), {"--peers", peers, "put", "kept", "yes"});
  CHECK(put.code == 0);

  auto [stop_ok, stopped] = sh("env " + env + " bash " + shell_quote(playground_script()) + " stop" + args);
  CHECK(stop_ok);
  CHECK(stopped.find("stopped the playground") != std::string::npos);
  CHECK(all_down(base));
  CHECK(nothing_runs_in(dir));
  CHECK_FALSE(sh("tmux -S " + shell_quote((dir / "tmux.sock").string()) + " has-session").first);

  // Started again (detached now): the data is still there.
  auto [re_ok, re] = sh("env " + env + " bash " + shell_quote(playground_script()) + " --detach" + args + " </dev/null");
  REQUIRE_MESSAGE(re_ok, re);
  CHECK(eventually([&] {
    const reply r = http(api1, "GET", "/v1/kv/kept");
    return r.status == 200 && r.json().value("value", std::string()) == "yes";
  }, 20s));

  // wipe: stopped, and the nodes' data is gone.
  auto [wipe_ok, wiped] = sh("env " + env + " bash " + shell_quote(playground_script()) + " wipe" + args);
  CHECK(wipe_ok);
  CHECK(wiped.find("wiped the playground's data") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "data" / "node-1"));
  CHECK(all_down(base));
  CHECK(nothing_runs_in(dir));
}

TEST_CASE("playground: five nodes in windows on a small screen; --slow; the shell names the cluster") {
  playground pg({.nodes = 5, .slow = true, .size = "100x30"});
  const std::set<std::string> want = {"node1", "node2", "node3", "node4", "node5", "client", "shell"};
  CHECK(roles_in(pg, "") == want);
  CHECK(roles_in(pg, "node4") == std::set<std::string>{"node4"});  // one window each
  CHECK(pg.shows("node5", "delay 400ms"));
  CHECK(pg.status(5).value("tick_ms", 0) == 500);
  REQUIRE(pg.leader(60s) != 0);
  pg.line("shell", "raftkv-client put five nodes && raftkv-client --peers 127.0.0.1:" +
                       std::to_string(pg.api_port(5)) + " get five --stale");
  CHECK(pg.shows("shell", "OK rev 1", true, 60s));
  CHECK(eventually([&] { return pg.status(5)["kv"].value("keys", 0) == 1; }, 30s));
}

TEST_CASE("playground: without a terminal it says how to start the pieces by hand") {
  playground pg;  // a running one: a second start only re-attaches
  auto [ok, out] = pg.script("stop");
  CHECK(ok);
  auto [start_ok, start] = pg.script("start --base-port " + std::to_string(pg.peer_port(1)) + " --data-dir " +
                                     shell_quote((pg.dir() / "data").string()));
  CHECK_FALSE(start_ok);
  CAPTURE(start);
  CHECK(start.find("no terminal here") != std::string::npos);
  CHECK(start.find("--detach") != std::string::npos);
  CHECK(start.find("raftkv-server --id 1 --peers 1=127.0.0.1:" + std::to_string(pg.peer_port(1))) != std::string::npos);
  CHECK(start.find("--id 3 --peers") != std::string::npos);
  CHECK(start.find("raftkv-client --peers 127.0.0.1:" + std::to_string(pg.api_port(1))) != std::string::npos);
  CHECK(http(pg.api_port(1), "GET", "/v1/status", "", {}, 1s).status == 0);  // nothing started
}

TEST_CASE("playground: busy ports are named; stop typed in its own shell window stops everything") {
  playground pg;
  // The first one's nodes listen (a slow start, as under ASan, must not leave
  // its ports free for the second one to take).
  REQUIRE(pg.leader() != 0);
  // A second playground (another tmux server) on the same ports.
  auto [busy_ok, busy] = sh("env RAFTKV_SERVER=" + shell_quote(server_binary()) + " RAFTKV_CLIENT=" +
                            shell_quote(client_binary()) + " RAFTKV_PLAYGROUND_TMUX=" +
                            shell_quote((pg.dir() / "other.sock").string()) + " bash " + shell_quote(playground_script()) +
                            " --detach --base-port " + std::to_string(pg.peer_port(1)) + " --data-dir " +
                            shell_quote((pg.dir() / "other").string()) + " </dev/null");
  CHECK_FALSE(busy_ok);
  CAPTURE(busy);
  CHECK(busy.find("port(s) " + std::to_string(pg.peer_port(1)) + " " + std::to_string(pg.api_port(1))) != std::string::npos);
  CHECK(busy.find("pick other ports with --base-port") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(pg.dir() / "other"));  // nothing made

  pg.line("shell", "bash " + shell_quote(playground_script()) + " stop");
  CHECK(eventually([&] { return nothing_runs_in(pg.dir()) && all_down(pg.peer_port(1)); }, 20s));
  CHECK(eventually([&] { return !sh(pg.tmux() + " has-session").first; }, 10s));
}
