// tests/integration/tmux.hpp: a private tmux server for TUI tests. Its socket
// and the programs' data live in a temp directory; the destructor kills every
// program started in it by PID, then the tmux server, also when a check failed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace raftkv::itest {

/// Runs a shell command; returns whether it exited 0, and its output (stdout and stderr).
std::pair<bool, std::string> sh(const std::string& cmd);
/// `s` quoted for sh.
std::string shell_quote(const std::string& s);
/// How often TUI tests poll a screen with eventually(): each capture starts
/// processes, and the programs under test share two cores.
inline constexpr std::chrono::milliseconds screen_poll{150};
/// How long TUI tests wait for a screen to show something.
inline constexpr std::chrono::milliseconds screen_wait{20000};

class tmux_session {
 public:
  /// An empty session; windows are `width` x `height`.
  tmux_session(int width, int height);
  ~tmux_session();
  tmux_session(const tmux_session&) = delete;
  tmux_session& operator=(const tmux_session&) = delete;

  /// Opens window `name` running `command` (exec'ed, so the pane's PID is
  /// the program's) with extra environment `env` ("NAME=value" words). The
  /// program is killed after 5 minutes whatever happens to the test, since
  /// the tmux server, not the test, is its parent.
  void open(const std::string& name, const std::string& command, const std::string& env = "");
  /// SIGKILLs the program of window `name` (its pane's process group).
  void kill(const std::string& name);
  /// The visible text of window `name`.
  std::string capture(const std::string& name) const;
  /// Types `literal` into window `name`.
  void type(const std::string& name, const std::string& literal) const;
  /// Presses Enter in window `name`.
  void enter(const std::string& name) const;
  /// The session's temp directory (for data directories).
  const std::filesystem::path& dir() const { return dir_; }
  /// True when tmux is installed.
  static bool available();

 private:
  std::filesystem::path dir_;
  std::string tmux_;  ///< "tmux -S <socket>"
  int width_, height_;
  bool started_ = false;
  std::vector<std::pair<std::string, pid_t>> pids_;
};

}  // namespace raftkv::itest
