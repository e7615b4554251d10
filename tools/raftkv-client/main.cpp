// raftkv-client: the smart client of a raftkv cluster, on raftkv::client.
//
//   raftkv-client --peers 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 put foo bar
//
// With a command: runs it, prints the result (plain, or one JSON line with
// --json) and exits with the codes of client/commands.hpp (0 ok, 1 other,
// 2 usage, 3 not found, 4 cluster unavailable, 5 cas failed, 6 outcome
// unknown). Errors are one line on stderr. Without a command, on a terminal:
// the ncurses TUI (screen_loop.hpp). Without a command and a terminal (or
// with --json): reads commands from stdin, one per line, and prints each
// result; exits 0 if every command succeeded, else with the code of the last
// one that failed.
#include "screen_loop.hpp"

#include <raftkv/client/commands.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <variant>

namespace {

using namespace raftkv::client;

void emit(const printable& p, bool trace) {
  std::fwrite(p.out.data(), 1, p.out.size(), stdout);
  std::fflush(stdout);
  if (trace && !p.hops.empty()) std::fprintf(stderr, "%s\n", format_trace(p.hops, p.elapsed_ms).c_str());
  if (!p.err.empty()) std::fprintf(stderr, "raftkv-client: %s\n", p.err.c_str());
}

/// Runs `op` on `io` to completion; an exception becomes code 1 with its text.
template <class Awaitable>
printable run(boost::asio::io_context& io, Awaitable op) {
  printable result;
  bool done = false;
  boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, printable p) {
    done = true;
    if (!e) {
      result = std::move(p);
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      result.code = exit_codes::failed;
      result.err = ex.what();
    }
  });
  io.restart();
  io.run();
  if (!done) {
    result.code = exit_codes::failed;
    result.err = "the request stopped without an answer";
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const auto parsed = parse_cli(argc, argv);
  if (const auto* exit = std::get_if<cli_exit>(&parsed)) {
    std::fputs(exit->text.c_str(), exit->code == 0 ? stdout : stderr);
    return exit->code;
  }
  const cli_options& o = std::get<cli_options>(parsed);
  try {
    boost::asio::io_context io(1);
    client c(io.get_executor(), o.client);
    if (!o.words.empty()) {
      const printable p = run(io, run_words(c, o.words, o.json));
      emit(p, o.trace);
      return p.code;
    }
    const bool tty = ::isatty(STDIN_FILENO) == 1;
    if (tty && ::isatty(STDOUT_FILENO) == 1 && !o.json) {
      if (raftkv::client_tool::run_screen(o.client)) return exit_codes::ok;
      std::fputs("raftkv-client: cannot start the terminal UI (is TERM set?); reading commands line by line\n", stderr);
    }
    int code = exit_codes::ok;
    std::string line;
    for (;;) {
      if (tty) {
        std::fputs("raftkv> ", stdout);
        std::fflush(stdout);
      }
      if (!std::getline(std::cin, line)) break;
      const printable p = run(io, run_line(c, line, o.json));
      emit(p, o.trace);
      if (p.quit) break;
      if (p.code != exit_codes::ok) code = p.code;
    }
    if (tty) std::fputs("\n", stdout);
    return code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raftkv-client: %s\n", e.what());
    return exit_codes::failed;
  }
}
