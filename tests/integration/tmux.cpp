// tests/integration/tmux.cpp: see tmux.hpp.
#include "integration/tmux.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>

namespace raftkv::itest {

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

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool tmux_session::available() { return sh("command -v tmux").first; }

tmux_session::tmux_session(int width, int height) : width_(width), height_(height) {
  char tmpl[] = "/tmp/raftkv-tmux-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  tmux_ = "tmux -S " + shell_quote((dir_ / "tmux.sock").string());
}

tmux_session::~tmux_session() {
  for (const auto& [_, pid] : pids_) {
    if (pid > 0) ::kill(-pid, SIGKILL);  // the pane's process group: timeout and the program
  }
  sh(tmux_ + " kill-server");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void tmux_session::open(const std::string& name, const std::string& command, const std::string& env) {
  const std::string cmd = "exec timeout -s KILL 300 env " + env + " " + command;
  const std::string where = started_ ? "new-window -d -t rk -n " + shell_quote(name)
                                     : "new-session -d -s rk -x " + std::to_string(width_) + " -y " +
                                           std::to_string(height_) + " -n " + shell_quote(name);
  auto [ok, out] = sh(tmux_ + " " + where + " " + shell_quote(cmd));
  REQUIRE_MESSAGE(ok, out);
  started_ = true;
  auto [pok, pid] = sh(tmux_ + " display-message -p -t " + shell_quote("rk:" + name) + " '#{pane_pid}'");
  REQUIRE_MESSAGE(pok, pid);
  pids_.emplace_back(name, static_cast<pid_t>(std::stol(pid)));
}

void tmux_session::kill(const std::string& name) {
  for (auto& [n, pid] : pids_) {
    if (n == name && pid > 0) {
      ::kill(-pid, SIGKILL);  // the pane's process group: timeout and the program
      pid = 0;
    }
  }
}

std::string tmux_session::capture(const std::string& name) const {
  return sh(tmux_ + " capture-pane -p -t " + shell_quote("rk:" + name)).second;
}

void tmux_session::type(const std::string& name, const std::string& literal) const {
  sh(tmux_ + " send-keys -t " + shell_quote("rk:" + name) + " -l " + shell_quote(literal));
}

void tmux_session::enter(const std::string& name) const {
  sh(tmux_ + " send-keys -t " + shell_quote("rk:" + name) + " Enter");
}

}  // namespace raftkv::itest
