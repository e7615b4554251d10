// tests/fuzz/fuzz_target.hpp: one fuzz target = one function taking bytes.
//
// Built with -DRAFTKV_LIBFUZZER (scripts/fuzz.sh, clang, -fsanitize=fuzzer)
// a target also defines libFuzzer's entry point; in the normal build the same
// function is called by tests/fuzz/replay_test.cpp on every file of the seed
// corpus and of the regressions (inputs that once crashed it), so a fixed
// crash stays fixed. A target aborts (fuzz_check) when an invariant breaks;
// a clean error for bad input is the expected outcome, not a failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace raftkv::fuzz {

/// Aborts with `what` unless `ok`: libFuzzer and the replay test both see a crash.
inline void fuzz_check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

int frame(const std::uint8_t* data, std::size_t size);
int wal(const std::uint8_t* data, std::size_t size);
int snapshot(const std::uint8_t* data, std::size_t size);
int http(const std::uint8_t* data, std::size_t size);

}  // namespace raftkv::fuzz

#ifdef RAFTKV_LIBFUZZER
#define RAFTKV_FUZZ_ENTRY(name)                                                    \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    return raftkv::fuzz::name(data, size);                                         \
  }
#else
#define RAFTKV_FUZZ_ENTRY(name)
#endif
