// examples/consumer: a program built outside Meson against the installed
// library, as a user would:
//
//   c++ -std=c++20 main.cpp $(pkg-config --cflags --libs raftkv)
//
// It runs a one-node Raft cluster in memory, proposes three "key=value"
// commands and applies them to a map once they commit, following the Ready
// loop of raftkv/core/ready.hpp.
#include <raftkv/core.hpp>

#include <iostream>
#include <map>
#include <string>

int main() {
  using namespace raftkv::core;
  config cfg;
  cfg.id = 1;
  cfg.voters = {1};
  if (!cfg.validate()) {
    std::cerr << "bad config\n";
    return 1;
  }
  memory_storage disk;
  node raft(cfg, disk);
  std::map<std::string, std::string> state;
  std::size_t applied = 0;

  const auto drain = [&] {
    while (raft.has_ready()) {
      ready rd = raft.get_ready();
      // One node: no messages to send. Persist, then apply, then advance.
      if (rd.hard) disk.set_hard_state(*rd.hard);
      disk.append(rd.entries);
      for (const entry& e : rd.committed_entries) {
        if (e.type != entry_type::normal) continue;
        const auto eq = e.data.find('=');
        state[e.data.substr(0, eq)] = e.data.substr(eq + 1);
        ++applied;
      }
      raft.advance(rd);
    }
  };

  if (!raft.campaign()) return 1;
  drain();
  for (const char* cmd : {"greeting=hi", "name=raft", "greeting=hello"}) {
    if (!raft.propose(cmd)) {
      std::cerr << "proposal refused\n";
      return 1;
    }
    drain();
  }
  std::cout << "applied " << applied << " commands; state:";
  for (const auto& [k, v] : state) std::cout << ' ' << k << '=' << v;
  std::cout << '\n';
  return applied == 3 ? 0 : 1;
}
