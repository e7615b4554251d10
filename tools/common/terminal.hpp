// tools/common/terminal.hpp: the one place that talks to ncurses. It copies
// a tui::screen to the terminal (ncurses sends only the cells that changed,
// so redrawing every frame does not flicker) and turns keys into tui::key codes.
#pragma once

#include <raftkv/tui/screen.hpp>

namespace raftkv::term {

/// The terminal in full-screen mode for the lifetime of the object.
class terminal {
 public:
  /// Enters curses mode (UTF-8 locale, raw keys, hidden cursor, colours
  /// unless the terminal has none or NO_COLOR is set). Throws
  /// std::runtime_error when the terminal cannot be used.
  terminal();
  /// Restores the terminal.
  ~terminal();
  terminal(const terminal&) = delete;
  terminal& operator=(const terminal&) = delete;

  int width() const;
  int height() const;
  /// True when colours are used (false: bold/underline/reverse only).
  bool colors() const { return colors_; }
  /// Waits up to `timeout_ms` for a key: a code point, a tui::key code, or -1.
  int read_key(int timeout_ms);
  /// Shows `s` (it should have the terminal's size).
  void draw(const tui::screen& s);

 private:
  bool colors_ = false;
  void* screen_ = nullptr;  ///< the curses SCREEN (kept opaque: no curses in this header)
};

}  // namespace raftkv::term
