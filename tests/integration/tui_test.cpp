// The server TUI for real: three raftkv-server processes in a private tmux
// server, read back with `tmux capture-pane`. Checks that roles, terms, log
// entries and keys appear; that all three panes show the same committed
// entries after a put (one typed into a follower's ':' prompt); and that after
// the leader is killed another pane shows a new leader in a higher term.
#include "integration/cluster.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

namespace {

using namespace raftkv::itest;
namespace fs = std::filesystem;

/// Runs a shell command; returns its stdout (and whether it exited 0).
std::pair<bool, std::string> sh(const std::string& cmd) {
  std::string out;
  std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {false, out};
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) && WEXITSTATUS(st) == 0, out};
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// A private tmux server with one window per node, torn down (servers killed
/// by PID, then the tmux server) when the test ends, passed or not.
class tmux_cluster {
 public:
  explicit tmux_cluster(std::size_t n) : ports_(free_peer_ports(n)) {
    char tmpl[] = "/tmp/raftkv-tui-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    tmux_ = "tmux -S " + quote((dir_ / "tmux.sock").string());
    for (std::size_t i = 0; i < n; ++i) {
      if (!peers_.empty()) peers_ += ",";
      peers_ += std::to_string(i + 1) + "=127.0.0.1:" + std::to_string(ports_[i]);
    }
    pids_.assign(n, 0);
    for (std::uint64_t id = 1; id <= n; ++id) start(id);
  }

  ~tmux_cluster() {
    for (pid_t p : pids_) {
      if (p > 0) ::kill(p, SIGKILL);
    }
    sh(tmux_ + " kill-server");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start(std::uint64_t id) {
    const std::string cmd = "exec " + quote(server_binary()) + " --id " + std::to_string(id) + " --peers " + peers_ +
                            " --data-dir " + quote((dir_ / ("n" + std::to_string(id))).string()) +
                            " --tick-ms 50 --heartbeat-ticks 2 --election-ticks 10";
    const std::string where = id == 1 ? "new-session -d -s rk -x 110 -y 32 -n n1"
                                      : "new-window -d -t rk -n n" + std::to_string(id);
    auto [ok, out] = sh(tmux_ + " " + where + " " + quote(cmd));
    REQUIRE_MESSAGE(ok, out);
    auto [pok, pid] = sh(tmux_ + " display-message -p -t rk:n" + std::to_string(id) + " '#{pane_pid}'");
    REQUIRE_MESSAGE(pok, pid);
    pids_[id - 1] = static_cast<pid_t>(std::stol(pid));
  }

  void kill(std::uint64_t id) {
    ::kill(pids_[id - 1], SIGKILL);
    pids_[id - 1] = 0;
  }

  /// What node `id`'s pane shows now.
  std::string capture(std::uint64_t id) const {
    return sh(tmux_ + " capture-pane -p -t rk:n" + std::to_string(id)).second;
  }

  void keys(std::uint64_t id, const std::string& literal) const {
    sh(tmux_ + " send-keys -t rk:n" + std::to_string(id) + " -l " + quote(literal));
  }
  void enter(std::uint64_t id) const { sh(tmux_ + " send-keys -t rk:n" + std::to_string(id) + " Enter"); }

  std::uint16_t api_port(std::uint64_t id) const { return static_cast<std::uint16_t>(ports_[id - 1] + 1000); }
  std::size_t size() const { return ports_.size(); }

 private:
  std::vector<std::uint16_t> ports_;
  std::vector<pid_t> pids_;
  std::string peers_;
  fs::path dir_;
  std::string tmux_;
};

struct pane_state {
  std::string role;
  std::uint64_t term = 0;
};

/// Role and term from the header row of a pane.
pane_state header_of(const std::string& screen) {
  static const std::regex head(R"(raftkv node \d+\s+(LEADER|FOLLOWER|CANDIDATE|PRE-CANDIDATE)\s+term (\d+))");
  std::smatch m;
  if (!std::regex_search(screen, m, head)) return {};
  return {m[1].str(), std::stoull(m[2].str())};
}

/// The log pane's entries ("● 3 t1 put a=b") in a capture.
std::vector<std::string> applied_entries(const std::string& screen) {
  static const std::regex line(R"(│● (\d+ t\d+ [^│]*?)\s*│)");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(screen.begin(), screen.end(), line); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

}  // namespace

TEST_CASE("three server TUIs in tmux: roles, terms, the same committed log, and a new leader after a kill") {
  if (!sh("command -v tmux").first) {
    FAIL("tmux is not installed (scripts/test.sh installs it)");
  }
  tmux_cluster c(3);

  std::uint64_t leader = 0, term = 0;
  REQUIRE(eventually([&] {
    int leaders = 0, followers = 0;
    for (std::uint64_t id = 1; id <= 3; ++id) {
      const pane_state p = header_of(c.capture(id));
      if (p.role == "LEADER") ++leaders, leader = id, term = p.term;
      if (p.role == "FOLLOWER") ++followers;
    }
    return leaders == 1 && followers == 2;
  }, std::chrono::seconds(20)));
  CAPTURE(c.capture(leader));
  CHECK(term >= 1);

  // A put through the HTTP API, and one typed into a follower's command line.
  REQUIRE(http(c.api_port(leader), "PUT", "/v1/kv/greeting", "hello").status == 200);
  const std::uint64_t follower = leader == 1 ? 2 : 1;
  c.keys(follower, ":put typed from-the-tui");
  c.enter(follower);

  std::vector<std::string> logs[3];
  const bool same = eventually([&] {
    for (std::uint64_t id = 1; id <= 3; ++id) logs[id - 1] = applied_entries(c.capture(id));
    const auto has = [](const std::vector<std::string>& l, const std::string& s) {
      for (const auto& e : l) {
        if (e.find(s) != std::string::npos) return true;
      }
      return false;
    };
    for (const auto& l : logs) {
      if (!has(l, "put greeting=hello") || !has(l, "put typed=from-the-tui")) return false;
    }
    return logs[0] == logs[1] && logs[1] == logs[2];
  }, std::chrono::seconds(15));
  CAPTURE(c.capture(1));
  CAPTURE(c.capture(2));
  CAPTURE(c.capture(3));
  CHECK(same);
  for (std::uint64_t id = 1; id <= 3; ++id) {
    const std::string s = c.capture(id);
    CHECK(s.find("greeting = hello") != std::string::npos);
    CHECK(s.find("typed = from-the-tui") != std::string::npos);
  }
  // The follower's timeline shows where its put went: redirected to the leader.
  CHECK(eventually([&] {
    const std::string s = c.capture(follower);
    return s.find("307 not") != std::string::npos || s.find("not leader") != std::string::npos;
  }));

  c.kill(leader);
  std::uint64_t new_leader = 0, new_term = 0;
  CHECK(eventually([&] {
    for (std::uint64_t id = 1; id <= 3; ++id) {
      if (id == leader) continue;
      const pane_state p = header_of(c.capture(id));
      if (p.role == "LEADER") new_leader = id, new_term = p.term;
    }
    return new_leader != 0;
  }, std::chrono::seconds(20)));
  CAPTURE(new_leader == 0 ? std::string() : c.capture(new_leader));
  CHECK(new_term > term);
}
