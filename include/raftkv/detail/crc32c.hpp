// raftkv/detail/crc32c.hpp: CRC-32C (Castagnoli), the checksum of every raftkv
// format (WAL records, snapshot files, state machine snapshots).
//
// Boost.CRC computes it; header-only and pure, so the kv layer may use it.
#pragma once

#include <boost/crc.hpp>

#include <cstdint>
#include <string_view>

namespace raftkv::detail {

/// The CRC-32C parameters: polynomial 0x1EDC6F41, reflected, all-ones init and xor-out.
using crc32c_engine = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

/// CRC-32C of `data` (crc32c("123456789") == 0xe3069283). Detects every error
/// burst of up to 32 bits, so every single flipped byte.
inline std::uint32_t crc32c(std::string_view data) {
  crc32c_engine crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

}  // namespace raftkv::detail
