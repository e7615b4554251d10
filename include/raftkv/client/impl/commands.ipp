// Pure bodies for raftkv/client/commands.hpp (parsing and printing); compiled
// once by lib/client_policy.cpp. run_command() is in run_command.ipp.
#pragma once

#include <raftkv/client/commands.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>

namespace raftkv::client {

namespace commands_detail {

using json = nlohmann::json;

inline std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

inline std::string text_field(const json& j, const char* name) {
  if (!j.is_object()) return {};
  const auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

inline bool flag_field(const json& j, const char* name) {
  if (!j.is_object()) return false;
  const auto it = j.find(name);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

inline std::uint64_t number_field(const json& j, const char* name) {
  if (!j.is_object()) return 0;
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return 0;
  return it->is_number_unsigned() || it->get<std::int64_t>() >= 0 ? it->get<std::uint64_t>() : 0;
}

template <class T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

/// The flags of get and list; nullopt-free: a usage_error string when bad.
struct read_flags {
  std::vector<std::string> positional;
  consistency read = consistency::linearizable;
  std::optional<std::size_t> limit;
  std::string error;  ///< non-empty: the words are not a valid command
};

inline read_flags parse_read_flags(const std::vector<std::string>& args, bool allow_limit) {
  read_flags f;
  bool literal = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (literal || !a.starts_with("--")) {
      f.positional.push_back(a);
    } else if (a == "--") {
      literal = true;
    } else if (a == "--stale") {
      f.read = consistency::stale;
    } else if (allow_limit && (a == "--limit" || a.starts_with("--limit="))) {
      std::string v;
      if (a == "--limit") {
        if (i + 1 == args.size()) {
          f.error = "--limit needs a number";
          return f;
        }
        v = args[++i];
      } else {
        v = a.substr(8);
      }
      const auto n = parse_number<std::size_t>(v);
      if (!n || *n == 0 || *n > 10000) {
        f.error = "--limit is a number from 1 to 10000, not '" + v + "'";
        return f;
      }
      f.limit = *n;
    } else {
      f.error = "unknown option " + a;
      return f;
    }
  }
  return f;
}

/// Pads `s` with blanks to `width`.
inline std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

inline std::string failure_line(const command& c, const answer& a) {
  switch (a.result) {
    case outcome::not_found: return "key not found: " + c.key;
    case outcome::cas_failed: {
      const std::uint64_t now = number_field(a.body, "current_mod_revision");
      std::string s = "compare-and-swap failed: ";
      if (c.revision == 0) return s + c.key + " exists (mod revision " + std::to_string(now) + ")";
      if (now == 0) return s + c.key + " is absent, not at mod revision " + std::to_string(c.revision);
      return s + c.key + "'s mod revision is " + std::to_string(now) + ", not " + std::to_string(c.revision);
    }
    default: return a.message.empty() ? std::string(to_string(a.result)) : a.message;
  }
}

}  // namespace commands_detail

std::variant<std::vector<std::string>, usage_error> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else if (ch == '\'') {
      const auto close = line.find('\'', i + 1);
      if (close == std::string_view::npos) return usage_error{"unterminated ' quote"};
      cur.append(line.substr(i + 1, close - i - 1));
      i = close;
      in_word = true;
    } else if (ch == '"') {
      std::size_t j = i + 1;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() && (line[j + 1] == '"' || line[j + 1] == '\\')) ++j;
        cur.push_back(line[j]);
      }
      if (j >= line.size()) return usage_error{"unterminated \" quote"};
      i = j;
      in_word = true;
    } else if (ch == '\\') {
      if (i + 1 == line.size()) return usage_error{"a backslash at the end of the line"};
      cur.push_back(line[++i]);
      in_word = true;
    } else {
      cur.push_back(ch);
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

std::variant<command, usage_error> parse_command(const std::vector<std::string>& words) {
  using namespace commands_detail;
  if (words.empty()) return usage_error{"no command (try help)"};
  const std::string& name = words[0];
  const std::vector<std::string> args(words.begin() + 1, words.end());
  command c;
  const auto arity = [&](std::size_t n, const char* usage) -> std::optional<usage_error> {
    if (args.size() != n) return usage_error{std::string("usage: ") + usage};
    return std::nullopt;
  };
  if (name == "put") {
    if (auto e = arity(2, "put KEY VALUE")) return *e;
    c.kind = command_kind::put;
    c.key = args[0];
    c.value = args[1];
  } else if (name == "get" || name == "list" || name == "ls") {
    const bool is_get = name == "get";
    read_flags f = parse_read_flags(args, !is_get);
    if (!f.error.empty()) return usage_error{f.error + (is_get ? " (usage: get KEY [--stale])" : " (usage: list [PREFIX] [--stale] [--limit N])")};
    c.read = f.read;
    if (is_get) {
      if (f.positional.size() != 1) return usage_error{"usage: get KEY [--stale]"};
      c.kind = command_kind::get;
      c.key = f.positional[0];
    } else {
      if (f.positional.size() > 1) return usage_error{"usage: list [PREFIX] [--stale] [--limit N]"};
      c.kind = command_kind::list;
      if (!f.positional.empty()) c.prefix = f.positional[0];
      if (f.limit) c.limit = *f.limit;
    }
  } else if (name == "delete" || name == "del") {
    if (auto e = arity(1, "delete KEY")) return *e;
    c.kind = command_kind::del;
    c.key = args[0];
  } else if (name == "cas") {
    if (auto e = arity(3, "cas KEY REV VALUE (REV 0: only if KEY is absent)")) return *e;
    const auto rev = parse_number<std::uint64_t>(args[1]);
    if (!rev) return usage_error{"cas: REV is a mod revision number, not '" + args[1] + "'"};
    c.kind = command_kind::cas;
    c.key = args[0];
    c.revision = *rev;
    c.value = args[2];
  } else if (name == "status" || name == "leader" || name == "help" || name == "quit" || name == "exit") {
    if (!args.empty()) return usage_error{name + " takes no arguments"};
    c.kind = name == "status" ? command_kind::status
             : name == "leader" ? command_kind::leader
             : name == "help"   ? command_kind::help
                                : command_kind::quit;
  } else {
    return usage_error{"unknown command '" + name + "' (try help)"};
  }
  if ((c.kind == command_kind::put || c.kind == command_kind::get || c.kind == command_kind::del ||
       c.kind == command_kind::cas) && c.key.empty()) {
    return usage_error{"the key is empty"};
  }
  return c;
}

int exit_code(outcome o) noexcept {
  switch (o) {
    case outcome::ok: return exit_codes::ok;
    case outcome::not_found: return exit_codes::not_found;
    case outcome::cas_failed: return exit_codes::cas_failed;
    case outcome::unavailable: return exit_codes::unavailable;
    case outcome::outcome_unknown: return exit_codes::outcome_unknown;
    case outcome::rejected:
    case outcome::failed: return exit_codes::failed;
  }
  return exit_codes::failed;
}

printable render(const command& c, const answer& a, bool json) {
  using namespace commands_detail;
  printable p;
  p.hops = a.hops;
  p.elapsed_ms = a.elapsed_ms;
  p.code = exit_code(a.result);
  if (!a.ok()) {
    p.err = failure_line(c, a);
    if (json) {
      nlohmann::json j{{"outcome", to_string(a.result)}, {"error", a.error}, {"message", p.err}, {"status", a.status}};
      if (!a.body.is_null()) j["body"] = a.body;
      p.out = dump(j) + "\n";
    }
    return p;
  }
  if (json) {
    p.out = dump(a.body) + "\n";
    return p;
  }
  switch (c.kind) {
    case command_kind::get: p.out = text_field(a.body, "value") + "\n"; break;
    case command_kind::list: {
      const auto it = a.body.is_object() ? a.body.find("items") : a.body.end();
      if (it != a.body.end() && it->is_array()) {
        for (const auto& item : *it) p.out += text_field(item, "key") + "\t" + text_field(item, "value") + "\n";
      }
      if (flag_field(a.body, "more")) p.out += "(more keys: raise --limit)\n";
      break;
    }
    default: {
      p.out = "OK rev " + std::to_string(number_field(a.body, "revision"));
      if (flag_field(a.body, "duplicate")) p.out += " (duplicate: an earlier attempt applied it)";
      p.out += "\n";
    }
  }
  return p;
}

printable render_status(const std::vector<node_status>& all, bool json) {
  using namespace commands_detail;
  printable p;
  std::size_t reachable = 0;
  nlohmann::json arr = nlohmann::json::array();
  for (const node_status& s : all) {
    if (json) {
      nlohmann::json j{{"endpoint", s.target.str()}, {"reachable", s.reachable}};
      if (s.reachable) j["status"] = s.body;
      else j["error"] = s.error;
      arr.push_back(std::move(j));
    }
    if (!s.reachable) {
      p.out += pad("-", 8) + pad(s.target.str(), 22) + "unreachable: " + s.error + "\n";
      continue;
    }
    ++reachable;
    const nlohmann::json& b = s.body;
    const std::uint64_t leader = number_field(b, "leader");
    p.out += pad("node " + std::to_string(number_field(b, "id")), 8) + pad(s.target.str(), 22) +
             pad(text_field(b, "role"), 14) + pad("term " + std::to_string(number_field(b, "term")), 10) +
             pad("leader " + (leader != 0 ? std::to_string(leader) : std::string("-")), 10) +
             pad("commit " + std::to_string(number_field(b, "commit")), 14) +
             "applied " + std::to_string(number_field(b, "applied")) + "\n";
  }
  if (json) p.out = dump(arr) + "\n";
  if (reachable == 0) {
    p.code = exit_codes::unavailable;
    p.err = "cluster unavailable: no node answered /v1/status";
  }
  return p;
}

printable render_leader(const std::vector<node_status>& all, bool json) {
  using namespace commands_detail;
  printable p;
  const node_status* best = nullptr;
  std::size_t reachable = 0;
  for (const node_status& s : all) {
    if (!s.reachable) continue;
    ++reachable;
    if (text_field(s.body, "role") != "leader") continue;
    if (best == nullptr || number_field(s.body, "term") > number_field(best->body, "term")) best = &s;
  }
  if (best == nullptr) {
    p.code = exit_codes::unavailable;
    p.err = "no leader: none of the " + std::to_string(reachable) + " reachable nodes (of " +
            std::to_string(all.size()) + ") leads";
    if (json) p.out = dump({{"outcome", "unavailable"}, {"error", "no_leader"}, {"message", p.err}}) + "\n";
    return p;
  }
  const std::uint64_t id = number_field(best->body, "id");
  const std::uint64_t term = number_field(best->body, "term");
  std::string url = text_field(best->body, "api_url");
  if (url.empty()) url = best->target.url();
  if (json) {
    p.out = dump({{"leader", id}, {"url", url}, {"term", term}}) + "\n";
  } else {
    p.out = "node " + std::to_string(id) + " " + url + " term " + std::to_string(term) + "\n";
  }
  return p;
}

printable render_usage(const usage_error& e, bool json) {
  printable p;
  p.code = exit_codes::usage;
  p.err = e.message;
  if (json) p.out = commands_detail::dump({{"outcome", "usage"}, {"error", "usage"}, {"message", e.message}}) + "\n";
  return p;
}

std::string help_text() {
  return "commands:\n"
         "  put KEY VALUE                          write (exactly once, whatever the retries)\n"
         "  get KEY [--stale]                      read; --stale: the answering node's own state\n"
         "  delete KEY                             delete (alias: del)\n"
         "  list [PREFIX] [--stale] [--limit N]    keys by prefix, KEY<tab>VALUE per line (alias: ls)\n"
         "  cas KEY REV VALUE                      write only if KEY's mod revision is REV (0: absent)\n"
         "  status                                 every node's role, term, commit and applied index\n"
         "  leader                                 the current leader\n"
         "  help                                   this list\n"
         "  quit                                   leave (alias: exit)\n"
         "quote words with '...' or \"...\"\n";
}

std::variant<cli_options, cli_exit> parse_cli(int argc, const char* const argv[]) {
  namespace po = boost::program_options;
  cli_options o;
  std::string peers;
  int timeout_ms = 10000;
  // Like etcdctl's ETCDCTL_ENDPOINTS: a shell can name its cluster once.
  const char* env_peers = std::getenv("RAFTKV_PEERS");
  const std::string default_peers = env_peers != nullptr && *env_peers != '\0'
                                        ? std::string(env_peers)
                                        : std::string("127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003");
  po::options_description desc(
      "raftkv-client: the smart client of a raftkv cluster. It finds the leader, follows\n"
      "redirects, retries with backoff and applies every write exactly once.\n\n"
      "usage: raftkv-client [OPTIONS] [COMMAND ARGS...]\n"
      "       (no command: read commands from stdin, one per line)\n\n" +
      help_text() +
      "\nexit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 cluster unavailable,\n"
      "            5 compare-and-swap failed, 6 outcome unknown (a write may or may not have applied)\n\n"
      "options");
  desc.add_options()
      ("help,h", "show this help and exit")
      ("peers", po::value(&peers)->default_value(default_peers),
       "the nodes' client API addresses, HOST:PORT,... (default: $RAFTKV_PEERS when set)")
      ("json", po::bool_switch(&o.json), "print each result as one JSON line")
      ("trace", po::bool_switch(&o.trace), "print each request's hops to stderr")
      ("timeout-ms", po::value(&timeout_ms)->default_value(10000), "every request ends within this many ms");
  po::options_description hidden;
  hidden.add_options()("words", po::value<std::vector<std::string>>(), "the command");
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("words", -1);
  try {
    const po::parsed_options parsed =
        po::command_line_parser(argc, argv).options(all).positional(pos).allow_unregistered().run();
    po::variables_map vm;
    po::store(parsed, vm);
    if (vm.count("help") != 0) {
      std::ostringstream s;
      s << desc << "\n";
      return cli_exit{0, s.str()};
    }
    po::notify(vm);
    o.words = po::collect_unrecognized(parsed.options, po::include_positional);
    o.client.peers = parse_peer_list(peers);
    if (timeout_ms < 1) throw std::invalid_argument("--timeout-ms must be at least 1");
    o.client.deadline = std::chrono::milliseconds(timeout_ms);
    o.client.attempt_timeout = std::min(o.client.attempt_timeout, o.client.deadline);
    o.client.status_timeout = std::min(o.client.status_timeout, o.client.deadline);
    if (!o.words.empty() && o.words[0].starts_with("-")) {
      throw std::invalid_argument("unknown option " + o.words[0]);
    }
    if (!o.words.empty()) {
      auto parsed_command = parse_command(o.words);
      if (const auto* e = std::get_if<usage_error>(&parsed_command)) {
        return cli_exit{exit_codes::usage, "raftkv-client: " + e->message + "\n"};
      }
    }
  } catch (const std::exception& e) {
    return cli_exit{exit_codes::usage, std::string("raftkv-client: ") + e.what() + " (try --help)\n"};
  }
  return o;
}

}  // namespace raftkv::client
