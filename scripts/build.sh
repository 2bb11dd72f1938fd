#!/usr/bin/env bash
# build.sh DIR [cmake options...]: configure and build capsid into DIR.
set -euo pipefail
dir=$1
shift
cmake -S "$(dirname "$0")/.." -B "$dir" -DCMAKE_BUILD_TYPE=Debug "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
