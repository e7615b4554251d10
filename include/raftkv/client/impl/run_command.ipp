// run_command() and friends of raftkv/client/commands.hpp: the commands that
// talk to the cluster; compiled once by lib/client.cpp.
#pragma once

#include <raftkv/client/commands.hpp>

namespace raftkv::client {

boost::asio::awaitable<printable> run_command(client c, command cmd, bool json) {
  printable p;
  switch (cmd.kind) {
    case command_kind::put: {
      auto op = c.put(cmd.key, cmd.value);
      const answer a = co_await std::move(op);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::get: {
      auto op = c.get(cmd.key, cmd.read);
      const answer a = co_await std::move(op);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::del: {
      auto op = c.del(cmd.key);
      const answer a = co_await std::move(op);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::list: {
      auto op = c.list(cmd.prefix, cmd.limit, cmd.read);
      const answer a = co_await std::move(op);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::cas: {
      auto op = c.cas(cmd.key, cmd.revision, cmd.value);
      const answer a = co_await std::move(op);
      p = render(cmd, a, json);
      break;
    }
    case command_kind::status: {
      auto op = c.status_all();
      const std::vector<node_status> all = co_await std::move(op);
      p = render_status(all, json);
      break;
    }
    case command_kind::leader: {
      auto op = c.status_all();
      const std::vector<node_status> all = co_await std::move(op);
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
  auto op = run_command(std::move(c), std::get<command>(parsed), json);
  printable p = co_await std::move(op);
  co_return p;
}

boost::asio::awaitable<printable> run_line(client c, std::string line, bool json) {
  const std::variant<std::vector<std::string>, usage_error> split = split_words(line);
  if (const auto* e = std::get_if<usage_error>(&split)) co_return render_usage(*e, json);
  const auto& words = std::get<std::vector<std::string>>(split);
  if (words.empty()) co_return printable{};
  auto op = run_words(std::move(c), words, json);
  printable p = co_await std::move(op);
  co_return p;
}

}  // namespace raftkv::client
