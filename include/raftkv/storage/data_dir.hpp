// raftkv/storage/data_dir.hpp: which node a data directory belongs to, and
// the lock that keeps a second process out (bodies in storage/impl/data_dir.ipp).
//
// `raftkv-node.id` holds "cluster=<id>\nnode=<n>\n" (written tmp + fsync +
// rename + directory fsync on first use); `raftkv.lock` is held with an
// exclusive flock(2) for as long as the data_dir lives.
#pragma once

#include <raftkv/core/types.hpp>
#include <raftkv/storage/detail/file.hpp>

#include <filesystem>
#include <string>

namespace raftkv::storage {

/// Who is using a data directory.
struct identity {
  std::string cluster{};      ///< cluster id; any text without a newline
  core::node_id node = 0;     ///< this node's id (non-zero)
  friend bool operator==(const identity&, const identity&) = default;
};

inline constexpr const char* identity_file_name = "raftkv-node.id";
inline constexpr const char* lock_file_name = "raftkv.lock";

/// An open, locked data directory whose identity matches the process.
class data_dir {
 public:
  /// Creates `dir` (with parents) if missing, takes the lock, and records
  /// `id` on first use or checks it. Throws storage_error with one clear line
  /// when the directory is locked or belongs to another node or cluster.
  static data_dir open(const std::filesystem::path& dir, const identity& id);

  /// The directory.
  const std::filesystem::path& path() const { return path_; }
  /// Its identity.
  const identity& id() const { return id_; }

 private:
  data_dir(std::filesystem::path p, identity id, detail::file lock)
      : path_(std::move(p)), id_(std::move(id)), lock_(std::move(lock)) {}

  std::filesystem::path path_;  ///< as given to open()
  identity id_;                 ///< matches the identity file
  detail::file lock_;           ///< holds the flock until destruction
};

}  // namespace raftkv::storage
