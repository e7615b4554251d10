// Bodies for raftkv/tui/line_edit.hpp; compiled once by lib/tui.cpp.
#pragma once

#include <raftkv/tui/line_edit.hpp>
#include <raftkv/tui/screen.hpp>

namespace raftkv::tui {

namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

}  // namespace

bool edit_line(std::string& text, std::size_t& cursor, int k) {
  if (cursor > text.size()) cursor = text.size();
  if (key::is_text(k)) {
    std::string bytes;
    append_utf8(bytes, static_cast<char32_t>(k));
    text.insert(cursor, bytes);
    cursor += bytes.size();
    return true;
  }
  switch (k) {
    case key::backspace:
    case 8:
      if (cursor > 0) {
        std::size_t from = cursor - 1;
        while (from > 0 && is_continuation(text[from])) --from;
        text.erase(from, cursor - from);
        cursor = from;
      }
      return true;
    case key::del:
      if (cursor < text.size()) {
        std::size_t to = cursor + 1;
        while (to < text.size() && is_continuation(text[to])) ++to;
        text.erase(cursor, to - cursor);
      }
      return true;
    case key::left:
      while (cursor > 0) {
        --cursor;
        if (!is_continuation(text[cursor])) break;
      }
      return true;
    case key::right:
      while (cursor < text.size()) {
        ++cursor;
        if (cursor == text.size() || !is_continuation(text[cursor])) break;
      }
      return true;
    case key::home: cursor = 0; return true;
    case key::end: cursor = text.size(); return true;
    case key::ctrl_u:
      text.clear();
      cursor = 0;
      return true;
    default: return false;
  }
}

void line_history::add(const std::string& line) {
  if (lines.empty() || lines.back() != line) lines.push_back(line);
  if (lines.size() > max_lines) lines.erase(lines.begin());
  pos = lines.size();
}

std::string line_history::browse(bool older) {
  if (lines.empty()) return {};
  if (older && pos > 0) --pos;
  if (!older && pos < lines.size()) ++pos;
  return pos < lines.size() ? lines[pos] : std::string();
}

}  // namespace raftkv::tui
