// Compiles the TUI layer's bodies once: the screen grid, line editing, the
// server and client view models, their rendering and the console parser
// (pure: no ncurses, no Asio).
#include <raftkv/tui/impl/client_view.ipp>
#include <raftkv/tui/impl/console.ipp>
#include <raftkv/tui/impl/line_edit.ipp>
#include <raftkv/tui/impl/screen.ipp>
#include <raftkv/tui/impl/server_render.ipp>
#include <raftkv/tui/impl/server_view.ipp>
