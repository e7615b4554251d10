// tools/raftkv-client/screen_loop.hpp: raftkv-client's ncurses REPL.
//
// The terminal is driven from the main thread; requests and the cluster poll
// run on an io_context thread. Commands run one at a time in the order typed
// (each one's hops are shown live as they happen); typing, editing and
// scrolling go on while a request is in flight, and lines typed meanwhile
// wait in a bounded queue.
#pragma once

#include <raftkv/client/commands.hpp>

namespace raftkv::client_tool {

/// Runs the TUI until `quit`, Ctrl+C or Ctrl+D. Returns false when the
/// terminal cannot be used (nothing was drawn).
bool run_screen(const client::options& opts);

}  // namespace raftkv::client_tool
