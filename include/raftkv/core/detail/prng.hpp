// raftkv/core/detail/prng.hpp: a small deterministic PRNG (SplitMix64) owned by a node.
//
// The core never touches global randomness; its only source of jitter is this
// generator, seeded from config::seed, so a run replays exactly.
#pragma once

#include <cstdint>

namespace raftkv::core::detail {

class prng {
 public:
  explicit prng(std::uint64_t seed) noexcept : state_(seed) {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  /// A value in [0, n); n > 0. The modulo bias is irrelevant at these sizes.
  std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }

 private:
  std::uint64_t state_;  ///< advanced by every draw
};

}  // namespace raftkv::core::detail
