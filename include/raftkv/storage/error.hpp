// raftkv/storage/error.hpp: how the storage layer reports failures.
//
// Storage failures are not outcomes a caller handles and retries: corruption,
// a data directory that belongs to another node, or an IO error (ENOSPC, EIO,
// a failed fsync). They throw storage_error, whose what() is one line naming
// the file (and the byte offset for corruption); the program prints it and
// stops. After a failed fsync the page cache may have dropped the dirty data,
// so retrying could acknowledge writes that are not on disk (PostgreSQL's
// "fsyncgate"): the process must exit, never retry.
#pragma once

#include <stdexcept>
#include <string>

namespace raftkv::storage {

/// A corruption, identity, locking or IO failure; what() names the file.
class storage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace raftkv::storage
