// raftkv/client/commands.hpp: the commands of raftkv-client (one-shot and
// REPL), parsed, run and printed here so that the tool and its TUI share them
// and tests reach them without a terminal. Parsing and printing are pure
// (client/impl/commands.ipp, compiled by lib/client_policy.cpp); run_command()
// talks to the cluster (client/impl/run_command.ipp, lib/client.cpp).
//
//   put KEY VALUE              write (exactly once)
//   get KEY [--stale]          read (linearizable, or this node's state)
//   delete KEY                 delete (alias: del)
//   list [PREFIX] [--stale] [--limit N]
//   cas KEY REV VALUE          write only if KEY's mod revision is REV (0: absent)
//   status                     GET /v1/status of every node
//   leader                     the leader the nodes report
//   help, quit (alias: exit)
//
// Exit codes (exit_codes below, docs/client.md): 0 ok, 1 other error, 2 usage,
// 3 not found, 4 cluster unavailable, 5 compare-and-swap failed, 6 outcome unknown.
#pragma once

#include <raftkv/client/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace raftkv::client {

/// What a command does.
enum class command_kind { put, get, del, list, cas, status, leader, help, quit };

/// One parsed command.
struct command {
  command_kind kind = command_kind::help;
  std::string key{};                 ///< put, get, del, cas
  std::string value{};               ///< put, cas
  std::string prefix{};              ///< list
  std::uint64_t revision = 0;      ///< cas: the expected mod revision
  std::size_t limit = 1000;        ///< list: 1..10000
  consistency read = consistency::linearizable;  ///< get, list
};

/// A command line that is not a command, with the reason.
struct usage_error {
  std::string message{};
};

/// Splits a REPL line into words: blanks separate them; '...' quotes
/// literally; "..." quotes with \" and \\ escapes; a backslash outside quotes
/// escapes the next character. A usage_error for an unterminated quote.
std::variant<std::vector<std::string>, usage_error> split_words(std::string_view line);

/// Parses the words of one command (see the list above).
std::variant<command, usage_error> parse_command(const std::vector<std::string>& words);

/// The process exit codes of raftkv-client.
namespace exit_codes {
inline constexpr int ok = 0;
inline constexpr int failed = 1;           ///< anything else: rejected request, unexpected answer
inline constexpr int usage = 2;            ///< bad flags or command
inline constexpr int not_found = 3;        ///< get/delete of an absent key
inline constexpr int unavailable = 4;      ///< no leader / no node answered before the deadline
inline constexpr int cas_failed = 5;       ///< compare-and-swap mismatch
inline constexpr int outcome_unknown = 6;  ///< a write that may or may not have been applied
}  // namespace exit_codes

/// The exit code of an outcome.
int exit_code(outcome o) noexcept;

/// What a command printed, and how it ended.
struct printable {
  int code = exit_codes::ok;
  std::string out{};            ///< for stdout: whole lines, each ending in '\n' (may be empty)
  std::string err{};            ///< failures: one line for stderr, without newline or program name
  std::vector<hop> hops{};      ///< the request's attempts (kv commands)
  double elapsed_ms = 0;      ///< the request's time (kv commands)
  bool quit = false;          ///< the REPL ends
};

/// Prints a kv command's answer: plain (see docs/client.md) or, with `json`,
/// one JSON line: the server's answer on success, else
/// {"outcome","error","message","status","body"}.
printable render(const command& c, const answer& a, bool json);
/// Prints `status`: one line per node, or a JSON array. Exit code unavailable when no node answered.
printable render_status(const std::vector<node_status>& all, bool json);
/// Prints `leader`: the node a reachable node reports as leader in the
/// highest term ("node 2 http://127.0.0.1:7002 term 3"); unavailable if none.
printable render_leader(const std::vector<node_status>& all, bool json);
/// Prints a usage error (code 2).
printable render_usage(const usage_error& e, bool json);
/// The REPL's command list.
std::string help_text();

/// Runs one command against the cluster.
boost::asio::awaitable<printable> run_command(client c, command cmd, bool json);
/// Parses and runs `words` (usage errors print with code 2).
boost::asio::awaitable<printable> run_words(client c, std::vector<std::string> words, bool json);
/// Splits, parses and runs a REPL line (an empty line prints nothing).
boost::asio::awaitable<printable> run_line(client c, std::string line, bool json);

/// raftkv-client's command line.
struct cli_options {
  options client{};                  ///< peers and timeouts
  bool json = false;                 ///< --json
  bool trace = false;                ///< --trace: each request's hops on stderr
  std::vector<std::string> words{};  ///< the command; empty: read commands from stdin
};

/// Text to print and an exit code: 0 for --help, 2 for a usage error.
struct cli_exit {
  int code = 0;
  std::string text{};
};

/// Parses raftkv-client's flags (Boost.Program_options): --peers, --json,
/// --trace, --timeout-ms, --help, then the command's words (flags may follow them).
std::variant<cli_options, cli_exit> parse_cli(int argc, const char* const argv[]);

}  // namespace raftkv::client
