// raftkv/storage/crc32c.hpp: the checksum of every on-disk record (CRC-32C).
//
// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected, init and final XOR
// 0xFFFFFFFF) as iSCSI, ext4 and etcd's WAL use it, computed by Boost.CRC.
#pragma once

#include <raftkv/detail/crc32c.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace raftkv::storage {

/// The Boost.CRC engine for CRC-32C (raftkv/detail/crc32c.hpp); process_bytes()
/// may be called repeatedly.
using raftkv::detail::crc32c_engine;

/// CRC-32C of `n` bytes at `data`.
inline std::uint32_t crc32c(const void* data, std::size_t n) {
  crc32c_engine crc;
  crc.process_bytes(data, n);
  return crc.checksum();
}

/// CRC-32C of `bytes`.
inline std::uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

}  // namespace raftkv::storage
