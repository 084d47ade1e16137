#!/usr/bin/env bash
# tests/fuzz/run_codec_fuzz.sh SOURCE_DIR BUILD_DIR SECONDS
# Builds only the codec fuzz target with clang-14 + libFuzzer in its own
# build directory (cached between runs) and fuzzes for SECONDS. A crash makes
# libFuzzer exit non-zero and leaves the reproducer in BUILD_DIR/artifacts/.
set -euo pipefail
src=$1 build=$2 secs=${3:-30}
CLANG=${PW_FUZZ_CC:-clang-14}
CLANGXX=${PW_FUZZ_CXX:-clang++-14}
command -v "$CLANGXX" >/dev/null || { echo "run_codec_fuzz: $CLANGXX not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=$CLANG CXX=$CLANGXX cmake -S "$src" -B "$build" -DPW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
fi
cmake --build "$build" --target codec_fuzz -j 2 >"$build/build.log" 2>&1 || { cat "$build/build.log" >&2; exit 1; }
mkdir -p "$build/corpus" "$build/artifacts"
# Seed corpus: one encoded frame per message type, from the unit test's shapes.
"$build/tests/codec_fuzz_seeds" "$build/corpus" >/dev/null
"$build/tests/codec_fuzz" -max_total_time="$secs" -max_len=8192 -rss_limit_mb=1024 -timeout=10 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1 "$build/corpus" 2>&1 | tail -n 25
echo "codec fuzz: ${secs}s without a crash"
