// The screen grid the TUIs draw into: text, clipping, UTF-8, frames, wrapping.
#include <raftkv/tui/screen.hpp>

#include <doctest/doctest.h>

using namespace raftkv::tui;

TEST_CASE("put writes text, clipped to the width asked and to the screen") {
  screen s(10, 2);
  CHECK(s.put(0, 0, "hello") == 5);
  CHECK(s.row(0) == "hello");
  CHECK(s.put(7, 0, "world") == 3);
  CHECK(s.row(0) == "hello  wor");
  CHECK(s.put(0, 1, "abcdef", {}, 2) == 2);
  CHECK(s.row(1) == "ab");
  CHECK(s.put(0, 5, "off screen") == 0);
  CHECK(s.put(-1, 1, "xy") == 2);  // the cell left of the screen is dropped but counted
  CHECK(s.row(1) == "yb");
}

TEST_CASE("put keeps styles per cell and replaces control characters") {
  screen s(8, 1);
  s.put(0, 0, "a\tb\x01", style{color::bad, true});
  CHECK(s.row(0) == "a?b?");
  CHECK(s.at(0, 0).st.fg == color::bad);
  CHECK(s.at(0, 0).st.bold);
  CHECK(s.at(5, 0).st == style{});
}

TEST_CASE("UTF-8 decodes to code points; invalid bytes become U+FFFD") {
  CHECK(decode_utf8("aé€😀") == U"aé€😀");
  CHECK(decode_utf8("a\xff" "b") == U"a\uFFFDb");
  CHECK(decode_utf8("\xc3") == U"\uFFFD");            // truncated sequence
  CHECK(decode_utf8("\xc0\xaf") == U"\uFFFD\uFFFD");  // overlong '/'
  CHECK(decode_utf8("\xed\xa0\x80") == U"\uFFFD\uFFFD\uFFFD");  // a surrogate
  std::string out;
  for (char32_t c : std::u32string(U"aé€😀")) append_utf8(out, c);
  CHECK(out == "aé€😀");
  CHECK(columns("aé€") == 3);
  screen s(4, 1);
  s.put(0, 0, "é€x");
  CHECK(s.row(0) == "é€x");
  // Wide and zero-width characters would shift the row: one '?' cell each.
  screen w(6, 1);
  CHECK(w.put(0, 0, "a漢😀e\u0301b") == 6);
  CHECK(w.row(0) == "a??e?b");
}

TEST_CASE("ellipsize cuts to a width and marks the cut") {
  CHECK(ellipsize("hello", 5) == "hello");
  CHECK(ellipsize("hello world", 5) == "hell~");
  CHECK(ellipsize("héllo", 3) == "hé~");
  CHECK(ellipsize("x", 0).empty());
}

TEST_CASE("wrap breaks at spaces, or inside a word longer than the line") {
  CHECK(wrap("the quick brown fox", 10) == std::vector<std::string>{"the quick", "brown fox"});
  CHECK(wrap("abcdefghij", 4) == std::vector<std::string>{"abcd", "efgh", "ij"});
  CHECK(wrap("", 5) == std::vector<std::string>{""});
  CHECK(wrap("a b", 3) == std::vector<std::string>{"a b"});
}

TEST_CASE("box draws a frame with its title; bar fills proportionally") {
  screen s(12, 3);
  s.box(0, 0, 12, 3, "Log", true);
  CHECK(s.row(0) == "┌ Log ─────┐");
  CHECK(s.row(1) == "│          │");
  CHECK(s.row(2) == "└──────────┘");
  CHECK(s.at(0, 0).st.bold);
  screen b(5, 1);
  b.bar(0, 0, 5, 2, style{color::good}, style{});
  CHECK(b.row(0) == "██░░░");
  CHECK(b.at(1, 0).st.fg == color::good);
  CHECK(b.at(2, 0).st.fg == color::none);
}

TEST_CASE("put_right aligns text to end at a column; contains searches rows") {
  screen s(10, 2);
  s.put_right(10, 1, "end");
  CHECK(s.row(1) == "       end");
  CHECK(s.contains("end"));
  CHECK_FALSE(s.contains("nope"));
}
