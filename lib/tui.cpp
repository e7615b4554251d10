// Compiles the TUI layer's bodies once: the screen grid, the server view model,
// its rendering and the console parser (pure: no ncurses, no Asio).
#include <raftkv/tui/impl/console.ipp>
#include <raftkv/tui/impl/screen.ipp>
#include <raftkv/tui/impl/server_render.ipp>
#include <raftkv/tui/impl/server_view.ipp>
