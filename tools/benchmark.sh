#!/usr/bin/env bash
# hvsignal's performance benchmark (docs/PERFORMANCE.md, "The benchmark"): measures each figure
# on this machine and prints it beside the figure recorded in tools/benchmark-baseline.tsv, with
# their ratio (now / before; below 1 is better for every figure).
#
#   tools/benchmark.sh          measure and compare
#   tools/benchmark.sh --save   measure, compare, and record the figures as the new baseline
#
# Needs valgrind (instruction counts) and GNU time (/usr/bin/time, peak RSS); refuses to run
# without them. Instruction counts are exact and repeatable; times and RSS depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

save=false
case "${1:-}" in
  "") ;;
  --save) save=true ;;
  *) echo "usage: tools/benchmark.sh [--save]" >&2; exit 2 ;;
esac

missing=()
command -v valgrind >/dev/null 2>&1 || missing+=("valgrind (apt-get install valgrind)")
[ -x /usr/bin/time ] || missing+=("GNU time at /usr/bin/time (apt-get install time)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
if [ ${#missing[@]} -gt 0 ]; then
  echo "tools/benchmark.sh: cannot measure without: ${missing[*]}" >&2
  exit 1
fi

baseline=tools/benchmark-baseline.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building (release)..." >&2
cargo build --quiet --release --locked -p hvsignal
CARGO_TARGET_DIR=target/overhead-bench cargo build --quiet --release --locked \
  -p hvsignal-core --features overhead-bench --bin overhead
CARGO_TARGET_DIR=target/model-cost cargo build --quiet --release --locked \
  -p hvmodel --example signal_cost
hvsignal=target/release/hvsignal

# Instructions per call: the difference between 10 000 and 1 000 calls, over 9 000.
per_call() {
  local small large
  small=$(valgrind --tool=callgrind --callgrind-out-file="$work/small" "$@" 1000 2>/dev/null >/dev/null; awk '/^(summary|totals):/ {print $2; exit}' "$work/small")
  large=$(valgrind --tool=callgrind --callgrind-out-file="$work/large" "$@" 10000 2>/dev/null >/dev/null; awk '/^(summary|totals):/ {print $2; exit}' "$work/large")
  python3 -c "print(f'{($large - $small) / 9000:.1f}')"
}

# Milliseconds of wall time a command takes (best of three).
wall_ms() {
  local best=""
  for _ in 1 2 3; do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    local ms=$(( (end - start) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}

echo "measuring..." >&2
declare -A now
now[core_instructions_per_call]=$(per_call target/overhead-bench/release/overhead)
now[model_instructions_per_signal]=$(per_call target/model-cost/release/examples/signal_cost)
# 1 000 000 calls: their milliseconds are the nanoseconds of one call.
now[model_ns_per_call]=$(wall_ms "$hvsignal" signal -c 0x2001 --calls 1000000)
now[exact_bench_1m_ms]=$(wall_ms "$hvsignal" bench -c 0x2001 --calls 1000000)
/usr/bin/time -f "%U %S %M" -o "$work/scan" "$hvsignal" scan --from 0 --to 0xffffff --yes >/dev/null 2>&1
read -r user sys rss_kib < "$work/scan"
now[scan_cpu_seconds]=$(python3 -c "print(f'{$user + $sys:.2f}')")
now[scan_peak_rss_mib]=$(python3 -c "print(f'{$rss_kib / 1024:.0f}')")
now[ioctls_per_100k_exact_calls]=$("$hvsignal" --json bench -c 0x2001 --calls 100000 | python3 -c "import json,sys; print(json.load(sys.stdin)['requests'])")

order=(core_instructions_per_call model_instructions_per_signal model_ns_per_call exact_bench_1m_ms
       scan_cpu_seconds scan_peak_rss_mib ioctls_per_100k_exact_calls)

printf '%-32s %12s %12s %8s\n' "figure" "now" "before" "ratio"
for name in "${order[@]}"; do
  before=$(awk -F'\t' -v n="$name" '$1 == n {print $2}' "$baseline" 2>/dev/null || true)
  if [ -n "$before" ]; then
    ratio=$(python3 -c "print(f'{${now[$name]} / $before:.3f}')")
  else
    before="-"; ratio="-"
  fi
  printf '%-32s %12s %12s %8s\n' "$name" "${now[$name]}" "$before" "$ratio"
done

if $save; then
  {
    echo -e "# figure\tvalue\twhen"
    for name in "${order[@]}"; do
      echo -e "$name\t${now[$name]}\t$(git rev-parse --short HEAD) $(date -u +%F)"
    done
  } > "$baseline"
  echo "saved as the new baseline: $baseline" >&2
fi
