// Fuzz target: the two snapshot readers. The first byte chooses:
//   even: the key-value state machine's format (kv::state_machine::restore)
//         with the checksum check off, so the fuzzer reaches the parser; a
//         snapshot it accepts must serialise back to the same bytes.
//   odd:  a snapshot file (storage::read_snapshot_file: header, CRCs, name),
//         then its data through restore() as a server would.
// Bad input must give bad_snapshot or storage_error, never a crash.
#include "fuzz/fuzz_target.hpp"

#include <raftkv/kv/state_machine.hpp>
#include <raftkv/storage/error.hpp>
#include <raftkv/storage/snapshot_file.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace raftkv::fuzz {

int snapshot(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  kv::config cfg;
  cfg.max_sessions = 64;
  if (data[0] % 2 == 0) {
    auto sm = kv::state_machine::restore(bytes, cfg, false);
    if (sm) {
      const std::string again = sm->serialize();
      // The last 4 bytes are the checksum, which was not checked on the way in.
      fuzz_check(again.size() == bytes.size() &&
                     std::string_view(again).substr(0, again.size() - 4) == bytes.substr(0, bytes.size() - 4),
                 "a restored snapshot serialises to the bytes it came from");
      auto back = kv::state_machine::restore(again, cfg, true);
      fuzz_check(back && back->same_state(*sm), "a serialised snapshot restores, checksum included");
    }
    return 0;
  }
  namespace fs = std::filesystem;
  const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  const fs::path dir = base / ("raftkv-fuzz-snap-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / storage::snapshot_file_name({3, 17});
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  try {
    const core::snapshot s = storage::read_snapshot_file(file);
    fuzz_check(s.last == core::entry_id{3, 17} && s.data != nullptr, "a snapshot file read matches its name");
    (void)kv::state_machine::restore(*s.data, cfg);
  } catch (const storage::storage_error&) {
    // The expected answer to a damaged file.
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}

}  // namespace raftkv::fuzz

RAFTKV_FUZZ_ENTRY(snapshot)
