// raftkv/tui/screen.hpp: a grid of styled cells that the TUIs draw into
// (bodies in tui/impl/screen.ipp, compiled by lib/tui.cpp).
//
// Rendering is a pure function from a view model to a screen; only the
// programs copy a screen to the terminal (ncurses). Tests read the screen's
// text back without a terminal. Every cell holds a character one column
// wide; put() shows the others (wide CJK and emoji, combining marks) as '?'.
#pragma once

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace raftkv::tui {

/// Meanings, not colours: the terminal layer maps them to colour pairs, or
/// to bold/underline/reverse on a monochrome terminal.
enum class color : std::uint8_t {
  none,
  leader,         ///< green
  candidate,      ///< yellow
  pre_candidate,  ///< magenta
  follower,       ///< cyan
  good,           ///< green: applied, connected, granted
  warn,           ///< yellow: committed-not-applied, slow, pending
  bad,            ///< red: refused, cut, overwritten, errors
  accent,         ///< blue: titles, your actions
  fault,          ///< magenta: injected faults
};
inline constexpr int color_count = 10;

struct style {
  color fg = color::none;
  bool bold = false;
  bool dim = false;
  bool reverse = false;
  bool underline = false;
  friend bool operator==(const style&, const style&) = default;
};

struct cell {
  char32_t ch = U' ';
  style st{};
  friend bool operator==(const cell&, const cell&) = default;
};

class screen {
 public:
  /// A blank screen; sizes below 1 are taken as 1.
  screen(int width, int height);

  int width() const { return width_; }
  int height() const { return height_; }
  /// Blanks every cell.
  void clear();
  /// Writes UTF-8 `text` from (x, y), clipped to `max_width` columns and the
  /// screen; invalid bytes show as U+FFFD; control characters, combining
  /// marks and wide (CJK, emoji) characters as '?', so every cell holds one
  /// column. Returns the columns the text took (cells left of the screen
  /// count, cut text does not), so `x += put(x, ...)` continues after it.
  int put(int x, int y, std::string_view text, style st = {}, int max_width = INT_MAX);
  /// Writes `text` right-aligned so that it ends at column x_end - 1.
  void put_right(int x_end, int y, std::string_view text, style st = {});
  /// Fills a rectangle with `ch`.
  void fill(int x, int y, int w, int h, char32_t ch = U' ', style st = {});
  /// Restyles a row segment without changing its characters.
  void restyle(int x, int y, int w, style st);
  /// A frame with `title` in its top edge; a focused frame is drawn bold.
  void box(int x, int y, int w, int h, std::string_view title, bool focused);
  /// A horizontal bar of `w` cells, `filled` of them solid.
  void bar(int x, int y, int w, int filled, style on, style off);

  const cell& at(int x, int y) const { return cells_[static_cast<std::size_t>(y * width_ + x)]; }
  /// The UTF-8 text of row y, trailing spaces removed.
  std::string row(int y) const;
  /// Every row joined with '\n'.
  std::string text() const;
  /// True when `needle` appears in some row.
  bool contains(std::string_view needle) const;

 private:
  void set(int x, int y, char32_t ch, style st);
  int width_;
  int height_;
  std::vector<cell> cells_;  ///< row-major, width_ * height_
};

/// True for a code point that takes exactly one terminal column.
bool is_single_column(char32_t c);
/// The code points of UTF-8 `text`; each invalid byte becomes U+FFFD.
std::u32string decode_utf8(std::string_view text);
/// Appends the UTF-8 bytes of `cp` to `out`.
void append_utf8(std::string& out, char32_t cp);
/// Columns `text` takes (code points).
int columns(std::string_view text);
/// `text` cut to `width` columns, with "~" as its last column when cut.
std::string ellipsize(std::string_view text, int width);
/// `text` broken into lines of at most `width` columns, at spaces when it can;
/// an empty text gives one empty line.
std::vector<std::string> wrap(std::string_view text, int width);

}  // namespace raftkv::tui
