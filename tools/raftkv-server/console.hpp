// tools/raftkv-server/console.hpp: runs what is typed at the TUI's ':' prompt
// against this node. Results go to the node's timeline (kind "command"), so
// the events pane shows them next to the Raft decisions they cause.
#pragma once

#include <raftkv/client/client.hpp>
#include <raftkv/server/host.hpp>
#include <raftkv/tui/console.hpp>

#include <boost/asio/awaitable.hpp>

namespace raftkv::server_tool {

class console {
 public:
  /// `node` must outlive the console; both live on the io_context's thread.
  console(boost::asio::any_io_executor ex, server::host& node);

  /// Runs one command to its end (writes follow the leader through the
  /// smart client: a put typed on a follower is redirected, not refused).
  boost::asio::awaitable<void> run(tui::console_command c);

 private:
  boost::asio::awaitable<void> write(tui::console_command c);
  boost::asio::awaitable<void> get(tui::console_command c);
  void say(std::string text);

  server::host& node_;
  client::client client_;  ///< every member's API, this node first
};

}  // namespace raftkv::server_tool
