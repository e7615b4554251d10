// tests/integration/playground.cpp: see playground.hpp.
#include "integration/playground.hpp"

#include "integration/cluster.hpp"
#include "integration/tmux.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <sstream>

namespace raftkv::itest {

std::string source_dir() {
  const char* s = std::getenv("RAFTKV_SOURCE_DIR");
  return s != nullptr ? s : RAFTKV_SOURCE_DIR;
}

std::string playground_script() { return source_dir() + "/scripts/playground.sh"; }

playground::playground(playground_options o) : nodes_(o.nodes) {
  env_ = "RAFTKV_SERVER=" + shell_quote(server_binary()) + " RAFTKV_CLIENT=" + shell_quote(client_binary());
  char tmpl[] = "/tmp/raftkv-playground-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  env_ += " RAFTKV_PLAYGROUND_TMUX=" + shell_quote((dir_ / "tmux.sock").string()) +
          " RAFTKV_PLAYGROUND_LIMIT=300 RAFTKV_PLAYGROUND_SHELL='bash --norc --noprofile'";
  try {
    base_ = free_port_block(nodes_);
    std::string args = "start --detach --nodes " + std::to_string(nodes_) + " --base-port " + std::to_string(base_) +
                       " --data-dir " + shell_quote((dir_ / "data").string()) + " --size " + o.size;
    if (o.slow) args += " --slow";
    auto [ok, out] = script(args);
    REQUIRE_MESSAGE(ok, out);
  } catch (...) {
    cleanup();  // the destructor does not run when the constructor throws
    throw;
  }
}

playground::~playground() { cleanup(); }

void playground::cleanup() {
  script("stop");
  // Whatever survived SIGTERM: each pane's process group, then anything
  // still naming our directory (the servers' --data-dir).
  auto [ok, pids] = sh(tmux() + " list-panes -a -F '#{pane_pid}'");
  if (ok) {
    std::istringstream in(pids);
    long pid = 0;
    while (in >> pid) {
      if (pid > 1) ::kill(static_cast<pid_t>(-pid), SIGKILL);
    }
  }
  sh(tmux() + " kill-server");
  sh("exec pkill -KILL -f " + shell_quote(dir_.string()));
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::pair<bool, std::string> playground::script(const std::string& args) const {
  return sh("env " + env_ + " bash " + shell_quote(playground_script()) + " " + args +
            " </dev/null");
}

std::string playground::tmux() const { return "tmux -S " + shell_quote((dir_ / "tmux.sock").string()); }

std::string playground::pane(const std::string& role) const {
  auto [ok, out] = sh(tmux() + " list-panes -s -t raftkv -F '#{pane_id} #{@raftkv}'");
  REQUIRE_MESSAGE(ok, out);
  std::istringstream in(out);
  std::string id, r;
  while (in >> id >> r) {
    if (r == role) return id;
  }
  FAIL("no pane for " << role << " in:\n" << out);
  return {};
}

std::string playground::capture(const std::string& role) const {
  return sh(tmux() + " capture-pane -p -t " + shell_quote(pane(role))).second;
}

std::string playground::flat(const std::string& role) const {
  std::istringstream in(capture(role));
  std::string line, out;
  while (std::getline(in, line)) {
    // Drop box-drawing borders (UTF-8 E2 94 xx / E2 95 xx) and squeeze spaces.
    std::string kept;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (i + 2 < line.size() && static_cast<unsigned char>(line[i]) == 0xE2 &&
          (static_cast<unsigned char>(line[i + 1]) == 0x94 || static_cast<unsigned char>(line[i + 1]) == 0x95)) {
        i += 2;
        kept += ' ';
        continue;
      }
      kept += line[i];
    }
    out += kept + ' ';
  }
  std::string squeezed;
  for (char c : out) {
    if (c == ' ' && !squeezed.empty() && squeezed.back() == ' ') continue;
    squeezed += c;
  }
  return squeezed;
}

void playground::type(const std::string& role, const std::string& literal) const {
  sh(tmux() + " send-keys -t " + shell_quote(pane(role)) + " -l " + shell_quote(literal));
}

void playground::keys(const std::string& role, const std::string& names) const {
  sh(tmux() + " send-keys -t " + shell_quote(pane(role)) + " " + names);
}

void playground::line(const std::string& role, const std::string& literal) const {
  type(role, literal);
  keys(role, "Enter");
}

bool playground::shows(const std::string& role, const std::string& text, bool flatten,
                       std::chrono::milliseconds limit) const {
  return eventually([&] { return (flatten ? flat(role) : capture(role)).find(text) != std::string::npos; }, limit,
                    screen_poll);
}

nlohmann::json playground::status(int id) const {
  const reply r = http(api_port(id), "GET", "/v1/status?events=500", "", {}, std::chrono::seconds(3));
  return r.status == 200 ? r.json() : nlohmann::json();
}

std::string playground::event(int id, const std::string& text) const {
  std::string found;
  const nlohmann::json s = status(id);
  if (!s.is_object()) return found;
  for (const auto& e : s["events"]) {
    const std::string t = e.value("text", std::string());
    if (t.find(text) != std::string::npos) found = t;
  }
  return found;
}

bool playground::has_event(int id, const std::string& text) const { return !event(id, text).empty(); }

int playground::leader(std::chrono::milliseconds limit, int except) const {
  int found = 0;
  const bool agreed = eventually(
      [&] {
        found = 0;
        for (int id = 1; id <= nodes_; ++id) {
          if (id == except) continue;
          const nlohmann::json s = status(id);
          if (!s.is_object()) continue;
          const int l = s["leader"].is_number() ? s["leader"].get<int>() : 0;
          if (l == 0 || l == except || (found != 0 && l != found)) return false;
          found = l;
        }
        if (found == 0) return false;
        const nlohmann::json ls = status(found);
        return ls.is_object() && ls.value("role", std::string()) == "leader";
      },
      limit, std::chrono::milliseconds(100));
  return agreed ? found : 0;
}

}  // namespace raftkv::itest
