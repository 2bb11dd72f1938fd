#!/usr/bin/env bash
# check-ps1.sh [DIR]: checks capsid's PowerShell scripts
# (tests/windows/windows-smoke.ps1 with the test-win-serve-smoke.ps1 it
# dot-sources, scripts/setup-windows.ps1) without PowerShell, by parsing
# them with the tree-sitter PowerShell grammar under Node
# (scripts/ps1-check.mjs). The grammar and its runtime come from the npm
# registry as two pinned tarballs, checked against their sha512, and are
# kept in DIR (default build-win/ps1-check). Besides the syntax, it
# follows each script's top-level flow and refuses a variable read before
# anything assigns it, which PowerShell would read as $null without a
# word.
#
# Exit 0: every script parses and passes. 1: a syntax error or a variable
# read before it is assigned (printed as FILE:LINE:COLUMN). 2: not
# checked (no node, or the registry cannot be reached): callers report
# that as skipped, never as passed.
#
# The grammar does not know every PowerShell form: bare words joined by
# commas in a command argument (-Name a, b) read as an error, so the
# scripts quote such lists (-Name "a", "b"), which PowerShell reads the
# same way.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/build-win/ps1-check}
registry=https://registry.npmjs.org
pkgs=(
  "web-tree-sitter 0.25.10 634f6c178e3fd775ef8152a03b670d0f0e6b1a4eacdba320a193d72c44af31779e7c17fb8baffbdde16eaeb7b422c4d6e84d7863402b2338543268e873bc72cc"
  "tree-sitter-powershell 0.25.10 6c4b7c428c92a4616753769af1679d43234c68de9a4f0cbf5946ef215b74252285f816c9a121cd1eefb009b863ef12ccb1f07402e7df9a2266f81f20cef6bc2e"
)

if ! command -v node >/dev/null || ! command -v curl >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq nodejs curl >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 &&
        apt-get install -y -qq nodejs curl >/dev/null 2>&1; }
  fi
  command -v node >/dev/null && command -v curl >/dev/null ||
    { echo "ps1 check: not run (needs node and curl)"; exit 2; }
fi

mkdir -p "$dir/node_modules"
for p in "${pkgs[@]}"; do
  read -r name version sha <<<"$p"
  dest=$dir/node_modules/$name
  [ -f "$dest/.sha512" ] && [ "$(cat "$dest/.sha512")" = "$sha" ] && continue
  tgz=$dir/$name-$version.tgz
  if ! curl -fsS --max-time 60 -o "$tgz" \
       "$registry/$name/-/$name-$version.tgz"; then
    echo "ps1 check: not run (cannot fetch $name from the npm registry)"
    exit 2
  fi
  if [ "$(sha512sum "$tgz" | cut -d' ' -f1)" != "$sha" ]; then
    echo "ps1 check: $name-$version.tgz does not match its pinned sha512"
    exit 1
  fi
  rm -rf "$dest" && mkdir -p "$dest" &&
    tar -xzf "$tgz" -C "$dest" --strip-components=1 &&
    echo "$sha" >"$dest/.sha512" || exit 1
done

cp "$here/scripts/ps1-check.mjs" "$dir/ps1-check.mjs"
node "$dir/ps1-check.mjs" \
  "$dir/node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm" \
  "$here/tests/windows/windows-smoke.ps1" "$here/scripts/setup-windows.ps1" \
  "$here/tests/windows/test-win-serve-smoke.ps1"
