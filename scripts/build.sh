#!/usr/bin/env bash
# build.sh DIR [cmake options...]: configure and build capsid into DIR.
# A Debug build (failure injection on) with warnings as errors, as CI
# builds it; a later -DCMAKE_BUILD_TYPE=... or -DCAPSID_WERROR=OFF wins.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: scripts/build.sh DIR [cmake options...]  (e.g. scripts/build.sh build)" >&2
  exit 2
fi
dir=$1
shift

# When the compiler changes, CMake deletes its cache and re-runs configure
# with the compiler alone, dropping every other -D (the build type with it,
# and so the Debug-only failure injection the tests rely on). Start from an
# empty cache instead, so the options given here are the ones that apply.
cache="$dir/CMakeCache.txt"
for arg in "$@"; do
  case $arg in
    -DCMAKE_C_COMPILER=*)
      want=${arg#-DCMAKE_C_COMPILER=}
      have=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$cache" 2>/dev/null || true)
      if [ -n "$have" ] && [ "$have" != "$want" ] &&
         [ "$have" != "$(command -v "$want" 2>/dev/null || echo "$want")" ]; then
        echo "build.sh: compiler changed ($have -> $want): fresh configure of $dir"
        rm -rf "$cache" "$dir/CMakeFiles"
      fi
      ;;
  esac
done
cmake -S "$(dirname "$0")/.." -B "$dir" -DCMAKE_BUILD_TYPE=Debug \
  -DCAPSID_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
