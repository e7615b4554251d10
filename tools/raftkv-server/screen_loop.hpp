// tools/raftkv-server/screen_loop.hpp: the server's TUI. The terminal is
// driven from the main thread; the node runs on its io_context thread.
//
// The io thread publishes a status snapshot (host::status_json, the same JSON
// as GET /v1/status) 20 times a second; the screen thread builds the view
// from the newest one and draws it. Keys become actions posted to the io
// thread. Neither thread ever waits for the other: the Raft loop does not
// wait on drawing, and drawing does not wait on the network.
#pragma once

#include <raftkv/server/host.hpp>

#include <boost/asio/io_context.hpp>

#include <functional>

namespace raftkv::server_tool {

/// Runs the TUI until the user quits or the io_context stops (a signal, a
/// fatal disk error). `stop` stops the node; it is posted to the io thread.
/// Returns false when the terminal cannot be used (nothing was drawn).
bool run_screen(boost::asio::io_context& io, server::host& node, std::function<void()> stop);

}  // namespace raftkv::server_tool
