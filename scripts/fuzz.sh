#!/usr/bin/env bash
# scripts/fuzz.sh: run the libFuzzer targets of tests/fuzz for a fixed time each.
#
# Installs clang and its libFuzzer runtime if missing (apt-get; sudo when not
# root), configures build-fuzz/ once (clang, -Dfuzz=true, ASan + UBSan),
# builds incrementally, then runs each target for --time seconds on a working
# corpus build-fuzz/corpus/<target> seeded from tests/fuzz/corpus/<target>.
# Crashing inputs land in build-fuzz/crashes/<target>/; keep each one, once
# fixed, in tests/fuzz/regressions/<target>/ (the test command replays them).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/fuzz.sh [--time SECONDS] [--seeds] [TARGET...]

  TARGET        frame, wal, snapshot, http (default: all four)
  --time N      seconds per target (default 60)
  --seeds       first rewrite tests/fuzz/corpus from the library's encoders
  --help        show this help

Prints, per target, the executions, the corpus size and the crashes found;
exits 1 if any target crashed.
USAGE
}

seconds=60
seeds=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds="${2:?--time needs a number}"; shift 2 ;;
    --seeds) seeds=1; shift ;;
    -h|--help) usage; exit 0 ;;
    frame|wal|snapshot|http) targets+=("$1"); shift ;;
    *) echo "scripts/fuzz.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(frame wal snapshot http)
case "$seconds" in ''|*[!0-9]*) echo "scripts/fuzz.sh: --time takes whole seconds" >&2; exit 2 ;; esac

cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=scripts/lib/deps.sh
. scripts/lib/deps.sh
raftkv_ensure_deps
command -v clang++ >/dev/null 2>&1 || raftkv_apt clang
clang_major=$(clang++ --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
     clang++ -x c++ -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
  raftkv_apt "libclang-rt-${clang_major}-dev"
fi

if [ "$seeds" = 1 ]; then
  [ -f build/build.ninja ] || meson setup build --wrap-mode=nodownload >/dev/null
  ninja -C build tests/raftkv-fuzz-seeds >/dev/null
  rm -rf tests/fuzz/corpus
  build/tests/raftkv-fuzz-seeds tests/fuzz/corpus
fi

if [ ! -f build-fuzz/build.ninja ]; then
  # -fno-sanitize=function: clang 14 cannot emit UBSan's function checks for
  # Asio's coroutines ("Cannot represent a difference across sections").
  CXX=clang++ meson setup build-fuzz --wrap-mode=nodownload -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized \
    -Dcpp_args=-fno-sanitize=function -Dcpp_link_args=-fno-sanitize=function >/dev/null
fi
echo "== building the fuzz targets in build-fuzz/"
ninja -C build-fuzz $(printf 'tests/fuzz_%s ' "${targets[@]}") | { grep -vE '^\[[0-9]+/[0-9]+\] ' || true; }

crashed=0
summary=()
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"
  crashes="build-fuzz/crashes/$t"
  mkdir -p "$work" "$crashes"
  log="build-fuzz/fuzz-$t.log"
  echo "== fuzz_$t: ${seconds} s (log: $log)"
  set +e
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build-fuzz/tests/fuzz_$t" "$work" "tests/fuzz/corpus/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$crashes/" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  found=$(find "$crashes" -type f | wc -l)
  size=$(find "$work" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    crashed=1
    tail -40 "$log" >&2
  fi
  summary+=("fuzz_$t: ${runs:-?} executions in ${seconds} s, corpus ${size} inputs, crashes ${found} (exit ${rc})")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$crashed"
