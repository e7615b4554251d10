// run_command() and friends of raftkv/client/commands.hpp: the commands that
// talk to the cluster; compiled once by lib/client.cpp.
#pragma once

#include <raftkv/client/commands.hpp>

namespace raftkv::client {

boost::asio::awaitable<printable> run_command(client c, command cmd, bool json) {
  printable p;
  switch (cmd.kind) {
    case command_kind::put: {
      const answer a = co_await c.put(cmd.key, cmd.value);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::get: {
      const answer a = co_await c.get(cmd.key, cmd.read);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::del: {
      const answer a = co_await c.del(cmd.key);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::list: {
      const answer a = co_await c.list(cmd.prefix, cmd.limit, cmd.read);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::cas: {
      const answer a = co_await c.cas(cmd.key, cmd.revision, cmd.value);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::status: {
      const std::vector<node_status> all = co_await c.status_all();
      p = render_status(all, json);
      break;
    }
    case command_kind::leader: {
      const std::vector<node_status> all = co_await c.status_all();
      p = render_leader(all, json);
      break;
    }
    case command_kind::help: p.out = help_text(); break;
    case command_kind::quit: p.quit = true; break;
  }
  co_return p;
}

boost::asio::awaitable<printable> run_words(client c, std::vector<std::string> words, bool json) {
  const std::variant<command, usage_error> parsed = parse_command(words);
  if (const auto* e = std::get_if<usage_error>(&parsed)) co_return render_usage(*e, json);
  printable p = co_await run_command(std::move(c), std::get<command>(parsed), json);
  co_return p;
}

boost::asio::awaitable<printable> run_line(client c, std::string line, bool json) {
  const std::variant<std::vector<std::string>, usage_error> split = split_words(line);
  if (const auto* e = std::get_if<usage_error>(&split)) co_return render_usage(*e, json);
  const auto& words = std::get<std::vector<std::string>>(split);
  if (words.empty()) co_return printable{};
  printable p = co_await run_words(std::move(c), words, json);
  co_return p;
}

}  // namespace raftkv::client
