// raftkv/storage/detail/wal_format.hpp: encoding and scanning of WAL records
// and segment names (bodies in storage/impl/wal_format.ipp).
#pragma once

#include <raftkv/core/types.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftkv::storage::detail {

inline constexpr std::size_t record_header_bytes = 9;  ///< u32 length, u32 crc, u8 type
inline constexpr std::uint64_t wal_magic = 0x314C4157564B5252;  ///< "RRKVWAL1" little-endian
inline constexpr std::uint32_t wal_version = 1;

/// Record types (the byte after the CRC).
enum record_type : std::uint8_t {
  rec_header = 1,           ///< magic u64, version u32, seq u64, first u64, base seq u64
  rec_hard_state = 2,       ///< term u64, vote u64, commit u64
  rec_entry = 3,            ///< term u64, index u64, type u8, data
  rec_snapshot_marker = 4,  ///< term u64, index u64
};

/// A segment header's fields.
struct segment_header {
  std::uint64_t seq = 0;
  core::index_t first = 0;
  std::uint64_t base_seq = 0;
};

/// `wal-<seq>-<first>.log`, both 16 lower-case hex digits.
std::string segment_name(std::uint64_t seq, core::index_t first);
/// Parses a segment file name; nullopt when it is not one.
std::optional<segment_header> parse_segment_name(std::string_view name);

/// Appends one encoded record to `out`.
void encode_record(std::string& out, std::uint8_t type, std::string_view payload);
std::string encode_header(const segment_header& h);
std::string encode_hard_state(const core::hard_state& hs);
std::string encode_entry(const core::entry& e);
std::string encode_marker(core::entry_id id);

/// A record found in a segment; `payload` points into the scanned bytes.
struct scanned_record {
  std::uint64_t offset = 0;  ///< byte offset of the record's length field
  std::uint8_t type = 0;
  std::string_view payload{};
};

/// The result of scanning a segment's bytes.
struct scan_result {
  std::vector<scanned_record> records{};  ///< every intact record, in file order
  std::uint64_t valid_bytes = 0;          ///< end of the last intact record
  std::optional<std::string> torn{};      ///< set when a torn tail follows valid_bytes: why
  std::uint64_t zero_tail = 0;            ///< zero bytes after valid_bytes: unused preallocated space
};

/// Scans `bytes` (the content of `path`). Zeros from a record boundary to the
/// end are unused preallocated space (wal_options::preallocate), in any
/// segment: no record starts with a zero length and a zero CRC. A broken record is a torn tail when
/// `is_last` and nothing valid-looking follows it (only zeros or EOF after its
/// claimed end, and no intact record starting anywhere after it); otherwise
/// throws storage_error naming the path and offset.
scan_result scan_records(const std::filesystem::path& path, std::string_view bytes,
                         std::uint32_t record_bytes_max, bool is_last);

/// "wal segment <path>: <what> at byte offset <offset>" as a storage_error.
[[noreturn]] void throw_corrupt(const std::filesystem::path& path, std::uint64_t offset,
                                std::string_view what);

}  // namespace raftkv::storage::detail
