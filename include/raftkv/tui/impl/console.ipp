// Bodies for raftkv/tui/console.hpp; compiled once by lib/tui.cpp.
#pragma once

#include <raftkv/tui/console.hpp>

#include <charconv>
#include <vector>

namespace raftkv::tui {

namespace {

/// The next space-separated word of `rest`, removed from it.
std::string_view next_word(std::string_view& rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const std::size_t end = rest.find(' ');
  const std::string_view w = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return w;
}

bool parse_number(std::string_view w, std::uint64_t max, std::uint64_t& out) {
  if (w.empty()) return false;
  const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), out);
  return ec == std::errc{} && end == w.data() + w.size() && out <= max;
}

}  // namespace

std::string_view console_summary() {
  return "put K V · get K [--stale] · del K · keys [PREFIX] · status · campaign · transfer N · snapshot · "
         "pause · resume · isolate · heal · cut N · restore N · drop PERMILLE · delay MS · help · quit";
}

std::variant<console_command, std::string> parse_console(std::string_view line) {
  using k = console_command::kind;
  while (!line.empty() && (line.front() == ' ' || line.front() == ':')) line.remove_prefix(1);
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  std::string_view rest = line;
  const std::string_view verb = next_word(rest);
  console_command c;
  struct simple {
    std::string_view name;
    k what;
  };
  static constexpr simple no_args[] = {
      {"status", k::status}, {"campaign", k::campaign}, {"snapshot", k::snapshot}, {"pause", k::pause},
      {"resume", k::resume}, {"isolate", k::isolate},   {"heal", k::heal},         {"help", k::help},
      {"quit", k::quit},     {"exit", k::quit},
  };
  for (const simple& s : no_args) {
    if (verb != s.name) continue;
    if (!next_word(rest).empty()) return std::string(verb) + " takes no arguments";
    c.what = s.what;
    return c;
  }
  if (verb == "put" || verb == "set") {
    const std::string_view key = next_word(rest);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (key.empty() || rest.empty()) return std::string("write it as: put KEY VALUE (the value is the rest of the line)");
    c.what = k::put;
    c.key = key;
    c.value = rest;
    return c;
  }
  if (verb == "get") {
    std::vector<std::string_view> words;
    for (std::string_view w = next_word(rest); !w.empty(); w = next_word(rest)) words.push_back(w);
    c.what = k::get;
    for (std::string_view w : words) {
      if (w == "--stale") {
        c.stale = true;
      } else if (c.key.empty()) {
        c.key = w;
      } else {
        return std::string("write it as: get KEY [--stale]");
      }
    }
    if (c.key.empty()) return std::string("write it as: get KEY [--stale]");
    return c;
  }
  if (verb == "del" || verb == "delete") {
    c.what = k::del;
    c.key = next_word(rest);
    if (c.key.empty() || !next_word(rest).empty()) return std::string("write it as: del KEY");
    return c;
  }
  if (verb == "keys" || verb == "list") {
    c.what = k::keys;
    c.key = next_word(rest);
    if (!next_word(rest).empty()) return std::string("write it as: keys [PREFIX]");
    return c;
  }
  struct numbered {
    std::string_view name;
    k what;
    std::uint64_t max;
    std::string_view usage;
  };
  static constexpr numbered with_number[] = {
      {"transfer", k::transfer, UINT64_MAX, "transfer NODE"},
      {"cut", k::cut, UINT64_MAX, "cut NODE"},
      {"restore", k::restore, UINT64_MAX, "restore NODE"},
      {"drop", k::drop, 1000, "drop PERMILLE (0..1000)"},
      {"delay", k::delay, 60000, "delay MS (0..60000)"},
  };
  for (const numbered& n : with_number) {
    if (verb != n.name) continue;
    c.what = n.what;
    if (!parse_number(next_word(rest), n.max, c.number) || !next_word(rest).empty()) {
      return "write it as: " + std::string(n.usage);
    }
    return c;
  }
  if (verb.empty()) return std::string("type a command: ") + std::string(console_summary());
  return "unknown command '" + std::string(verb) + "'; commands: " + std::string(console_summary());
}

}  // namespace raftkv::tui
