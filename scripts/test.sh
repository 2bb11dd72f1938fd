#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the packages, then
#   1. gcc build, -Werror, every ctest suite;
#   1b. gcc Release build (what packagers build: no failure injection),
#      -Werror, configured as the README's build-by-hand recipe does, and
#      every ctest suite it registers (those that need failure injection
#      are not built in Release);
#   2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer,
#      every ctest suite again;
#   3. the runtime and ACL suites under valgrind (no leaks, no errors);
#   4. soaks of the runtime and of `capsid batch`, 20000 mixed jobs each;
#   5. every libFuzzer target for 30 s;
#   6. the Windows cross-build and its tests under Wine.
#   0. the layer check: no file includes a header from a layer above its
#      own (scripts/check-layers.py, with a planted violation that must
#      fail);
# Prints a closing "N passed, N failed" line and exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# Binaries and workspaces the suite makes must be usable by other users
# (the sandbox identities of elevated jobs, a server's clients), whatever
# umask the caller has.
umask 022

# The suite runs jobs as other users from its build trees and makes their
# workspaces there, and root capsid refuses workspaces inside system
# directories such as /root. A checkout that other users cannot reach (a
# directory above it without o+x: root's home is 0700 on Debian), or one
# inside /root, is therefore tested from a copy under /var/tmp, which every
# user can reach and no policy grants. The copy's build trees are kept for
# the next run; its sources are replaced each time.
others_cannot_reach() {
  local d=$1
  case "$d/" in /root/*) return 0 ;; esac
  while [ "$d" != / ]; do
    [ -n "$(find "$d" -maxdepth 0 -perm -o+x)" ] || return 0
    d=$(dirname "$d")
  done
  return 1
}
if [ -z "${CAPSID_SUITE_COPY_OF:-}" ] && others_cannot_reach "$root"; then
  base=/var/tmp/capsid-suite-$(id -u)
  copy=$base/$(basename "$root")-$(printf %s "$root" | cksum | cut -d' ' -f1)
  echo "test.sh: other users cannot reach $root (or it lies in /root, which"
  echo "test.sh: capsid will not grant to jobs); the suite runs from a copy in"
  echo "test.sh: $copy"
  mkdir -p "$copy" && chmod 755 "$base" "$copy" || exit 1
  find "$copy" -mindepth 1 -maxdepth 1 ! -name 'build*' -exec rm -rf {} + &&
    tar -C "$root" --exclude='./build*' -cf - . | tar -C "$copy" -xf - ||
    exit 1
  CAPSID_SUITE_COPY_OF=$root exec "$copy/scripts/test.sh" "$@"
fi

./scripts/bootstrap.sh || exit 1

# As root (as in CI) every test can run, so none may skip: a test that
# would skip fails instead (tests/test-common.h, test_may_skip).
[ "$(id -u)" -eq 0 ] && export CAPSID_NO_SKIP=1

passed=0
failed=0
step() {
  local name=$1
  shift
  echo
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok"
  else
    failed=$((failed + 1))
    echo "=== $name: FAILED"
  fi
}

ctest_in() {
  (cd "$1" && ctest --output-on-failure --timeout 600 -j2)
}

valgrind_runtime() {
  local t rc=0
  for t in tests/runtime/test-jobs tests/runtime/test-kdenials \
      tests/base/test-pool \
      tests/runtime/test-faults tests/acl/test-acl-walk \
      tests/acl/test-acl-faults tests/acl/test-acl-attack; do
    echo "--- valgrind $t"
    valgrind -q --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect \
      "build/$t" >/tmp/capsid-valgrind.log 2>&1 || rc=1
    tail -3 /tmp/capsid-valgrind.log
    [ "$rc" -eq 0 ] || cat /tmp/capsid-valgrind.log
  done
  return "$rc"
}

# The README's recipe, in Release, with warnings as errors for CI.
release_build() {
  cmake -B build-release -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=gcc -DCAPSID_WERROR=ON >/dev/null &&
    cmake --build build-release -j"$(nproc)"
}

step "layers: every include points down" \
  python3 scripts/check-layers.py --self-test
step "gcc build" ./scripts/build.sh build -DCMAKE_C_COMPILER=gcc
step "gcc tests" ctest_in build
step "gcc release build" release_build
step "gcc release tests" ctest_in build-release
step "clang asan+ubsan build" ./scripts/build.sh build-asan \
  -DCMAKE_C_COMPILER=clang -DCAPSID_SANITIZE=ON
step "clang asan+ubsan tests" ctest_in build-asan
step "valgrind runtime and acl tests" valgrind_runtime
step "soak, 20000 mixed jobs through the runtime" \
  env CAPSID_SOAK_JOBS=20000 build/tests/runtime/test-soak
step "soak, 20000 mixed jobs through capsid batch -j 16" \
  python3 tests/cli/soak-batch.py build/capsid \
  build/tests/helper/capsid-test-child 20000
step "fuzzing, 30 s per target" ./scripts/fuzz.sh 30

# Cross-build for Windows with mingw-w64 and run the Windows suites under
# Wine (docs/windows.md says what Wine can and cannot check).
step "windows cross-build and wine tests" ./scripts/test-windows.sh

echo
[ -n "${CAPSID_SUITE_COPY_OF:-}" ] &&
  echo "(run from $root, a copy of $CAPSID_SUITE_COPY_OF)"
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
