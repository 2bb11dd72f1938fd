#!/usr/bin/env bash
# bench.sh [--quick]: builds capsid optimised, runs every benchmark with its
# baseline, writes docs/bench/results.csv and renders docs/bench/*.svg with
# gnuplot. The figures in docs/benchmarks.md come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
[ "${1:-}" = "--quick" ] && quick=(--quick)

./scripts/bootstrap.sh
if ! command -v gnuplot >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "bench.sh: gnuplot is missing" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends gnuplot-nox
fi
./scripts/build.sh build-rel -DCMAKE_BUILD_TYPE=RelWithDebInfo
capsid=build-rel/capsid

out=docs/bench
mkdir -p "$out"
csv="$out/results.csv"
echo "bench,measurement,value,unit,ratio" > "$csv"
for b in $("$capsid" bench --help | awk '/^  [a-z]+ /{print $1}'); do
  "$capsid" bench "$b" "${quick[@]}" --csv "$csv"
done

# One bar chart per benchmark: each measurement's ratio to its baseline.
for b in $(tail -n +2 "$csv" | cut -d, -f1 | sort -u); do
  grep "^$b," "$csv" | awk -F, '$5 > 0 {print $2 "," $5}' > "$out/$b.dat"
  [ -s "$out/$b.dat" ] || continue
  gnuplot <<GP
set terminal svg size 760,320 font "sans,11"
set output "$out/$b.svg"
set datafile separator ","
set title "capsid bench $b: ratio to the baseline (same run)"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set xtics rotate by -20 noenhanced
unset key
plot "$out/$b.dat" using 0:2:xtic(1) with boxes lc rgb "#4a78b0", \
     "" using 0:2:(sprintf("%.2fx",\$2)) with labels offset 0,0.8
GP
  rm -f "$out/$b.dat"
done
echo "bench.sh: wrote $csv and $(ls "$out"/*.svg | wc -l) plots in $out"
