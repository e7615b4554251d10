// raftkv/tui/line_edit.hpp: one line of typed text with a cursor and a
// history, shared by the server's ':' prompt and the client's REPL (bodies in
// tui/impl/line_edit.ipp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace raftkv::tui {

/// Keys: a typed character is its Unicode code point; the others are these
/// (above U+10FFFF, so they never collide; the terminal layer maps ncurses
/// codes to them).
namespace key {
inline constexpr int tab = 9, enter = 10, escape = 27, backspace = 127, ctrl_c = 3, ctrl_u = 21;
inline constexpr int up = 0x110001, down = 0x110002, left = 0x110003, right = 0x110004;
inline constexpr int page_up = 0x110005, page_down = 0x110006, home = 0x110007, end = 0x110008;
inline constexpr int back_tab = 0x110009, del = 0x11000a, resize = 0x11000b;
/// True for a character that goes into typed text.
constexpr bool is_text(int k) { return k >= 32 && k != 127 && k < 0x110000 && !(k >= 0xd800 && k <= 0xdfff); }
}  // namespace key

/// Applies an editing key to `text` at byte offset `cursor` (kept on a UTF-8
/// code point boundary): typed characters, Backspace, Del, ←, →, Home, End,
/// Ctrl+U (clear). Returns false for keys it does not handle.
bool edit_line(std::string& text, std::size_t& cursor, int key);

/// Command history: ↑/↓ browse it, Enter adds to it.
struct line_history {
  std::vector<std::string> lines;  ///< oldest first; at most max_lines, no two equal neighbours
  std::size_t pos = 0;             ///< == lines.size() when not browsing
  static constexpr std::size_t max_lines = 200;

  /// Records a submitted line and stops browsing.
  void add(const std::string& line);
  /// Moves up (older) or down (newer); returns the line to show ("" past the newest).
  std::string browse(bool older);
  void reset() { pos = lines.size(); }
};

}  // namespace raftkv::tui
