// raftkv/tui/console.hpp: the server TUI's ':' command line, parsed
// (bodies in tui/impl/console.ipp). The program runs what is parsed here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace raftkv::tui {

/// One command typed at the ':' prompt.
struct console_command {
  enum class kind : std::uint8_t {
    put, get, del, keys, status, campaign, transfer, snapshot, pause, resume, isolate, heal, cut, restore,
    drop, delay, help, quit,
  };
  kind what = kind::help;
  std::string key;            ///< put/get/del: the key; keys: the prefix
  std::string value;          ///< put: the rest of the line after the key
  bool stale = false;         ///< get --stale: this node's state machine, no ReadIndex
  std::uint64_t number = 0;   ///< transfer/cut/restore: node; drop: per mille; delay: ms
};

/// Parses one line (leading ':' allowed). On failure: a sentence saying what
/// is wrong and how the command is written.
std::variant<console_command, std::string> parse_console(std::string_view line);

/// One line listing the commands.
std::string_view console_summary();

}  // namespace raftkv::tui
