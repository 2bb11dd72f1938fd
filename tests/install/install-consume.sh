#!/usr/bin/env bash
# install-consume.sh BUILD_DIR: `cmake --install` into a temporary prefix,
# then build consumer.c against that prefix four ways -- pkg-config and
# find_package(capsid), each shared and static -- and run each (a job that
# echoes). The static builds must not need libcapsid.so, the shared ones
# must use the prefix's.
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
export CAPSID_STATE_DIR=$tmp/state

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
for f in bin/capsid include/capsid.h; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
pc=$(find "$prefix" -name capsid.pc)
export PKG_CONFIG_PATH=$(dirname "$pc")
"$prefix/bin/capsid" --version

needs_libcapsid() { readelf -d "$1" | grep -q 'NEEDED.*libcapsid'; }
uses_prefix_lib() { ldd "$1" | grep 'libcapsid' | grep -qF "$prefix/"; }
run() { # run NAME: the consumer prints the job's output
  out=$("$tmp/$1")
  [ "$out" = "hello from capsid" ] || { echo "$1: got '$out'"; exit 1; }
  echo "$1: ok"
}

cc=${CC:-cc}
# shellcheck disable=SC2046
$cc -o "$tmp/pc-shared" "$here/consumer.c" $(pkg-config --cflags --libs capsid) \
  -Wl,-rpath,"$(pkg-config --variable=libdir capsid)"
uses_prefix_lib "$tmp/pc-shared" || { echo "pc-shared: not the prefix's libcapsid.so"; exit 1; }
run pc-shared
# Static: the archive by name, then what it needs (Libs.private,
# Requires.private); --as-needed drops the -lcapsid of the .pc.
# shellcheck disable=SC2046
$cc -o "$tmp/pc-static" "$here/consumer.c" $(pkg-config --cflags capsid) \
  "$(pkg-config --variable=libdir capsid)/libcapsid.a" \
  -Wl,--as-needed $(pkg-config --static --libs capsid)
needs_libcapsid "$tmp/pc-static" && { echo "pc-static needs libcapsid.so"; exit 1; }
run pc-static

for kind in shared static; do
  target=capsid::capsid
  [ $kind = static ] && target=capsid::capsid_static
  src=$tmp/cmake-$kind
  mkdir -p "$src"
  cp "$here/consumer.c" "$src/"
  cp "$here/consumer-cmake.txt" "$src/CMakeLists.txt"
  cmake -S "$src" -B "$src/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCAPSID_TARGET=$target -DCMAKE_C_COMPILER="$cc" >"$tmp/cmake.log" ||
    { cat "$tmp/cmake.log"; exit 1; }
  cmake --build "$src/build" >"$tmp/cmake.log" || { cat "$tmp/cmake.log"; exit 1; }
  cp "$src/build/consumer" "$tmp/cmake-$kind-consumer"
  if [ $kind = static ]; then
    needs_libcapsid "$tmp/cmake-static-consumer" &&
      { echo "cmake static needs libcapsid.so"; exit 1; }
  else
    uses_prefix_lib "$tmp/cmake-shared-consumer" ||
      { echo "cmake shared: not the prefix's libcapsid.so"; exit 1; }
  fi
  run cmake-$kind-consumer
done
echo "installed into a prefix; pkg-config and find_package, shared and static: ok"
