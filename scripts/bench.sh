#!/usr/bin/env bash
# bench.sh [--quick] [--runs N]: builds capsid optimised, runs every
# benchmark with its baseline N times (default 1), and writes
#   docs/bench/runs.csv     every row of every run, with the run number and
#                           the 1-minute load average when the bench began
#   docs/bench/results.csv  per measurement, the median over the runs of
#                           the value and of the ratio
# then renders docs/bench/*.svg from results.csv with gnuplot. The figures
# in docs/benchmarks.md come from this script. The machines are shared:
# each benchmark interleaves its baseline with capsid in the same run, and
# the medians over runs damp what other tenants add.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
runs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --runs) runs=$2; shift ;;
    *) echo "usage: bench.sh [--quick] [--runs N]" >&2; exit 2 ;;
  esac
  shift
done

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
all="$out/runs.csv"
csv="$out/results.csv"
one=$(mktemp)
trap 'rm -f "$one"' EXIT
echo "run,bench,measurement,value,unit,ratio,load1" > "$all"
for r in $(seq 1 "$runs"); do
  for b in $("$capsid" bench --help | awk '/^  [a-z]+ /{print $1}'); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "bench.sh: run $r/$runs, $b, load average $load" >&2
    : > "$one"
    "$capsid" bench "$b" "${quick[@]}" --csv "$one"
    awk -v r="$r" -v l="$load" '{print r "," $0 "," l}' "$one" >> "$all"
  done
done

# The median over runs of each measurement's value and ratio (in the
# order the benchmarks print them).
echo "bench,measurement,value,unit,ratio" > "$csv"
tail -n +2 "$all" | awk -F, '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
        t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
      }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    k = $2 "," $3
    if (!(k in unit)) order[++n] = k
    unit[k] = $5
    val[k] = val[k] " " $4
    rat[k] = rat[k] " " $6
  }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]
      printf "%s,%.6g,%s,%.4g\n", k, median(val[k]), unit[k], median(rat[k])
    }
  }' >> "$csv"

# One bar chart per benchmark: each measurement's ratio to its baseline.
for b in $(tail -n +2 "$csv" | cut -d, -f1 | sort -u); do
  grep "^$b," "$csv" | awk -F, '$5 > 0 {print $2 "," $5}' > "$out/$b.dat"
  [ -s "$out/$b.dat" ] || continue
  gnuplot <<GP
set terminal svg size 760,320 font "sans,11"
set output "$out/$b.svg"
set datafile separator ","
set title "capsid bench $b: ratio to the baseline (median of $runs run(s))"
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
echo "bench.sh: wrote $csv, $all and $(ls "$out"/*.svg | wc -l) plots in $out"
