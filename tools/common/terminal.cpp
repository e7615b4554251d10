// tools/common/terminal.cpp: ncurses behind raftkv::term::terminal.
#include "terminal.hpp"

#include <raftkv/tui/line_edit.hpp>

#include <curses.h>

#include <algorithm>
#include <clocale>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace raftkv::term {

namespace {

short pair_of(tui::color c) { return static_cast<short>(c); }  // pair n draws color n

void init_colors() {
  start_color();
  use_default_colors();
  const short fg[tui::color_count] = {-1,           COLOR_GREEN, COLOR_YELLOW, COLOR_MAGENTA, COLOR_CYAN,
                                      COLOR_GREEN,  COLOR_YELLOW, COLOR_RED,   COLOR_BLUE,    COLOR_MAGENTA};
  for (short i = 1; i < tui::color_count; ++i) init_pair(i, fg[i], -1);
}

attr_t attrs_of(const tui::style& st, bool colors) {
  attr_t a = A_NORMAL;
  if (st.bold) a |= A_BOLD;
  if (st.dim) a |= A_DIM;
  if (st.reverse) a |= A_REVERSE;
  if (st.underline) a |= A_UNDERLINE;
  if (colors) {
    if (st.fg != tui::color::none) a |= COLOR_PAIR(pair_of(st.fg));
  } else if (st.fg == tui::color::bad || st.fg == tui::color::fault) {
    a |= A_BOLD | A_UNDERLINE;  // monochrome: what must stand out still does
  } else if (st.fg == tui::color::leader || st.fg == tui::color::candidate || st.fg == tui::color::warn) {
    a |= A_BOLD;
  }
  return a;
}

}  // namespace

terminal::terminal() {
  std::setlocale(LC_ALL, "");
  if (std::getenv("ESCDELAY") == nullptr) set_escdelay(25);  // Esc closes prompts at once
  // newterm, unlike initscr, returns null instead of exiting when TERM is
  // unusable, so the program can fall back to running without a screen.
  SCREEN* scr = newterm(nullptr, stdout, stdin);
  if (scr == nullptr) throw std::runtime_error("cannot start the terminal UI (is TERM set to a known terminal?)");
  set_term(scr);
  screen_ = scr;
  raw();  // Ctrl+C arrives as a key: the TUI quits cleanly
  noecho();
  keypad(stdscr, TRUE);
  nonl();
  curs_set(0);
  leaveok(stdscr, TRUE);
  colors_ = has_colors() && std::getenv("NO_COLOR") == nullptr;
  if (colors_) init_colors();
}

terminal::~terminal() {
  curs_set(1);
  endwin();
  delscreen(static_cast<SCREEN*>(screen_));
}

int terminal::width() const { return COLS; }
int terminal::height() const { return LINES; }

int terminal::read_key(int timeout_ms) {
  timeout(timeout_ms);
  wint_t ch = 0;
  const int r = get_wch(&ch);
  if (r == ERR) return -1;
  if (r == KEY_CODE_YES) {
    switch (ch) {
      case KEY_UP: return tui::key::up;
      case KEY_DOWN: return tui::key::down;
      case KEY_LEFT: return tui::key::left;
      case KEY_RIGHT: return tui::key::right;
      case KEY_PPAGE: return tui::key::page_up;
      case KEY_NPAGE: return tui::key::page_down;
      case KEY_HOME: return tui::key::home;
      case KEY_END: return tui::key::end;
      case KEY_BTAB: return tui::key::back_tab;
      case KEY_DC: return tui::key::del;
      case KEY_BACKSPACE: return tui::key::backspace;
      case KEY_ENTER: return tui::key::enter;
      case KEY_RESIZE: return tui::key::resize;
      default: return -1;
    }
  }
  if (ch == '\r' || ch == '\n') return tui::key::enter;
  if (ch == 8) return tui::key::backspace;
  return static_cast<int>(ch);
}

void terminal::draw(const tui::screen& s) {
  const int h = std::min(s.height(), LINES), w = std::min(s.width(), COLS);
  std::wstring run;
  for (int y = 0; y < h; ++y) {
    int x = 0;
    while (x < w) {
      const tui::style st = s.at(x, y).st;
      const int x0 = x;
      run.clear();
      while (x < w && s.at(x, y).st == st) run.push_back(static_cast<wchar_t>(s.at(x++, y).ch));
      attrset(attrs_of(st, colors_));
      // The bottom-right cell cannot be written without scrolling; skip it.
      if (y == LINES - 1 && x == COLS) run.pop_back();
      if (!run.empty()) mvaddnwstr(y, x0, run.c_str(), static_cast<int>(run.size()));
    }
  }
  attrset(A_NORMAL);
  wnoutrefresh(stdscr);
  doupdate();
}

}  // namespace raftkv::term
