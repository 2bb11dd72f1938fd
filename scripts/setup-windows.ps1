<#
.SYNOPSIS
  Builds capsid natively on Windows 10/11 with MSYS2's MinGW-w64
  toolchain, then runs the Windows test suite and, with -Smoke, the
  enforcement smoke test.

    powershell -ExecutionPolicy Bypass -File scripts\setup-windows.ps1 [-Smoke]

  Installs MSYS2 with winget when C:\msys64 is missing, then the packages
  below with pacman (the same libraries Linux builds use: libuv, jansson,
  mimalloc, cmocka). Builds into build-win\ with -Werror, as CI does.
  NOTE: written against MSYS2's documented layout and package names; CI
  cannot run it (there is no Windows machine there): see docs/windows.md.
#>
param(
  [string]$Msys = "C:\msys64",
  [switch]$Smoke
)
$ErrorActionPreference = "Stop"
$repo = (Resolve-Path "$PSScriptRoot\..").Path

if (-not (Test-Path "$Msys\usr\bin\bash.exe")) {
  Write-Host "Installing MSYS2 with winget..."
  winget install --id MSYS2.MSYS2 -e --accept-source-agreements --accept-package-agreements
  if (-not (Test-Path "$Msys\usr\bin\bash.exe")) { throw "MSYS2 not found at $Msys" }
}

$packages = @(
  "mingw-w64-x86_64-gcc", "mingw-w64-x86_64-cmake", "mingw-w64-x86_64-ninja",
  "mingw-w64-x86_64-pkgconf", "mingw-w64-x86_64-libuv",
  "mingw-w64-x86_64-jansson", "mingw-w64-x86_64-mimalloc",
  "mingw-w64-x86_64-cmocka"
)
$bash = "$Msys\usr\bin\bash.exe"
$env:MSYSTEM = "MINGW64"
$env:CHERE_INVOKING = "1"
& $bash -lc "pacman -S --needed --noconfirm $($packages -join ' ')"
if ($LASTEXITCODE -ne 0) { throw "pacman failed" }

$unixRepo = (& $bash -lc "cygpath -u '$repo'").Trim()
& $bash -lc "cd '$unixRepo' && cmake -S . -B build-win -G Ninja -DCMAKE_BUILD_TYPE=Debug && cmake --build build-win && ctest --test-dir build-win --output-on-failure"
if ($LASTEXITCODE -ne 0) { throw "build or tests failed" }
Write-Host "Built $repo\build-win\capsid.exe"

if ($Smoke) {
  & powershell -ExecutionPolicy Bypass -File "$repo\tests\windows\windows-smoke.ps1" -Capsid "$repo\build-win\capsid.exe"
  exit $LASTEXITCODE
}
