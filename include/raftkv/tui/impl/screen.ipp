// Bodies for raftkv/tui/screen.hpp; compiled once by lib/tui.cpp.
#pragma once

#include <raftkv/tui/screen.hpp>

#include <algorithm>

namespace raftkv::tui {

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t cp = 0;
    if (b < 0x80) {
      len = 1, cp = b;
    } else if ((b & 0xe0) == 0xc0) {
      len = 2, cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      len = 3, cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      len = 4, cp = b & 0x07;
    }
    bool ok = len != 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((c & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    static constexpr char32_t min_of_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok && (cp < min_of_len[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)) ok = false;
    if (!ok) {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(len);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

int columns(std::string_view text) { return static_cast<int>(decode_utf8(text).size()); }

std::string ellipsize(std::string_view text, int width) {
  const std::u32string cps = decode_utf8(text);
  if (width <= 0) return {};
  std::string out;
  if (static_cast<int>(cps.size()) <= width) {
    for (char32_t c : cps) append_utf8(out, c);
    return out;
  }
  for (int i = 0; i < width - 1; ++i) append_utf8(out, cps[static_cast<std::size_t>(i)]);
  out += '~';
  return out;
}

std::vector<std::string> wrap(std::string_view text, int width) {
  std::vector<std::string> lines;
  const std::u32string cps = decode_utf8(text);
  if (width < 1) width = 1;
  std::size_t i = 0;
  while (i < cps.size()) {
    std::size_t end = std::min(cps.size(), i + static_cast<std::size_t>(width));
    std::size_t next = end;
    if (end < cps.size()) {
      // Break at the last space inside the line, if there is one.
      std::size_t sp = end;
      while (sp > i && cps[sp] != U' ') --sp;
      if (sp > i) end = sp, next = sp + 1;
    }
    std::string line;
    for (std::size_t k = i; k < end; ++k) append_utf8(line, cps[k]);
    lines.push_back(std::move(line));
    i = next;
  }
  if (lines.empty()) lines.emplace_back();
  return lines;
}

screen::screen(int width, int height)
    : width_(std::max(1, width)), height_(std::max(1, height)),
      cells_(static_cast<std::size_t>(width_) * static_cast<std::size_t>(height_)) {}

void screen::clear() { std::fill(cells_.begin(), cells_.end(), cell{}); }

void screen::set(int x, int y, char32_t ch, style st) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  cells_[static_cast<std::size_t>(y * width_ + x)] = {ch, st};
}

bool is_single_column(char32_t c) {
  // Control characters, combining marks (zero columns) and the wide East
  // Asian and emoji blocks (two columns) would shift the rest of a row.
  struct range {
    char32_t lo, hi;
  };
  static constexpr range not_single[] = {
      {0x0000, 0x001f}, {0x007f, 0x009f}, {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd},
      {0x0610, 0x061a}, {0x064b, 0x065f}, {0x0e31, 0x0e3a}, {0x1100, 0x115f}, {0x1ab0, 0x1aff},
      {0x1dc0, 0x1dff}, {0x200b, 0x200f}, {0x20d0, 0x20ff}, {0x2e80, 0x303e}, {0x3041, 0x33ff},
      {0x3400, 0x4dbf}, {0x4e00, 0x9fff}, {0xa000, 0xa4cf}, {0xac00, 0xd7a3}, {0xf900, 0xfaff},
      {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f}, {0xfe30, 0xfe4f}, {0xff00, 0xff60}, {0xffe0, 0xffe6},
      {0x1f000, 0x1faff}, {0x20000, 0x3fffd}, {0xe0000, 0xe0fff},
  };
  for (const range& r : not_single) {
    if (c >= r.lo && c <= r.hi) return false;
  }
  return true;
}

int screen::put(int x, int y, std::string_view text, style st, int max_width) {
  if (y < 0 || y >= height_) return 0;
  int n = 0;
  for (char32_t c : decode_utf8(text)) {
    if (n >= max_width || x + n >= width_) break;
    if (!is_single_column(c)) c = U'?';
    set(x + n, y, c, st);
    ++n;
  }
  return n;
}

void screen::put_right(int x_end, int y, std::string_view text, style st) {
  put(x_end - columns(text), y, text, st);
}

void screen::fill(int x, int y, int w, int h, char32_t ch, style st) {
  for (int r = y; r < y + h; ++r) {
    for (int c = x; c < x + w; ++c) set(c, r, ch, st);
  }
}

void screen::restyle(int x, int y, int w, style st) {
  for (int c = x; c < x + w; ++c) {
    if (c >= 0 && c < width_ && y >= 0 && y < height_) cells_[static_cast<std::size_t>(y * width_ + c)].st = st;
  }
}

void screen::box(int x, int y, int w, int h, std::string_view title, bool focused) {
  if (w < 2 || h < 2) return;
  const style st{focused ? color::accent : color::none, focused, !focused, false, false};
  for (int c = x + 1; c < x + w - 1; ++c) {
    set(c, y, U'─', st);
    set(c, y + h - 1, U'─', st);
  }
  for (int r = y + 1; r < y + h - 1; ++r) {
    set(x, r, U'│', st);
    set(x + w - 1, r, U'│', st);
  }
  set(x, y, U'┌', st);
  set(x + w - 1, y, U'┐', st);
  set(x, y + h - 1, U'└', st);
  set(x + w - 1, y + h - 1, U'┘', st);
  if (!title.empty() && w > 4) {
    style ts = st;
    ts.dim = false;
    ts.bold = true;
    put(x + 1, y, " " + std::string(title) + " ", ts, w - 2);
  }
}

void screen::bar(int x, int y, int w, int filled, style on, style off) {
  for (int i = 0; i < w; ++i) set(x + i, y, i < filled ? U'█' : U'░', i < filled ? on : off);
}

std::string screen::row(int y) const {
  std::string out;
  for (int x = 0; x < width_; ++x) append_utf8(out, at(x, y).ch);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string screen::text() const {
  std::string out;
  for (int y = 0; y < height_; ++y) {
    out += row(y);
    out += '\n';
  }
  return out;
}

bool screen::contains(std::string_view needle) const {
  for (int y = 0; y < height_; ++y) {
    if (row(y).find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace raftkv::tui
