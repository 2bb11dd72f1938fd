#!/usr/bin/env bash
# fuzz.sh [SECONDS]: builds the libFuzzer targets with clang, ASan and
# UBSan, and runs each for SECONDS (default 60) from its seed corpus.
# Any crash, leak or timeout fails the run; the input that caused it is
# kept in build-fuzz/artifacts/ to become a regression test.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCAPSID_FUZZ=ON \
  -DCAPSID_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCAPSID_WERROR=ON \
  -DCMAKE_C_FLAGS="$flags" >/dev/null || exit 1
cmake --build build-fuzz -j"$(nproc)" --target \
  fuzz-jobline fuzz-policy fuzz-units fuzz-escape fuzz-path \
  fuzz-aclrecord fuzz-capstore || exit 1
mkdir -p build-fuzz/artifacts
passed=0
failed=0
for t in jobline policy units escape path aclrecord capstore; do
  work=build-fuzz/corpus-$t
  mkdir -p "$work"
  echo "--- fuzz-$t for ${seconds}s"
  if build-fuzz/tests/fuzz/fuzz-$t -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=0 \
      -artifact_prefix=build-fuzz/artifacts/$t- \
      "$work" tests/fuzz/corpus/$t >build-fuzz/fuzz-$t.log 2>&1; then
    passed=$((passed + 1))
    grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" build-fuzz/fuzz-$t.log | tail -1
  else
    failed=$((failed + 1))
    tail -40 build-fuzz/fuzz-$t.log
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
