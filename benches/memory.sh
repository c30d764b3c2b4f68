#!/usr/bin/env bash
# Peak memory of `check`, `run` and `repair`: 10 recordings against 600
# (more than two of run's 256-call report batches: it must not grow with
# their number), and one two-hour call (it must not be loaded whole).
# Needs GNU time (Debian package `time`) and awk. Fails loudly when a
# command fails, or when 600 calls take more than 1.5x the memory of 10.
#   bash benches/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/callscope"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

peak() { # label, command... ; prints MB, and sets $mb
  local label=$1; shift
  local rc=0
  /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>"$work/err" || rc=$?
  # 0: clean, 1: findings in the data; anything else is a failure.
  if [ "$rc" -gt 1 ]; then
    echo "FAILED ($rc): $*" >&2
    cat "$work/err" >&2
    exit 1
  fi
  mb=$(awk '{printf "%.1f", $1 / 1024}' "$work/rss")
  printf '  %-44s peak RSS %6.1f MB\n' "$label" "$mb"
}

flat() { # label, small MB, large MB
  awk -v a="$2" -v b="$3" -v l="$1" 'BEGIN {
    r = b / a; printf "  %-44s %.2fx\n", l ": 600 calls / 10 calls", r;
    if (r > 1.5) { print "FAILED: memory grows with the number of calls" > "/dev/stderr"; exit 1 } }'
}

$bin simulate --out "$work/c10" --calls 10 --seconds 20 --quiet
$bin simulate --out "$work/c600" --calls 600 --seconds 20 --quiet
$bin simulate --out "$work/long" --calls 1 --seconds 7200 --quiet
echo "memory (2 threads):"
peak "check, 10 calls" $bin check "$work/c10" --quiet; small=$mb
peak "check, 600 calls" $bin check "$work/c600" --quiet; large=$mb
flat "check" "$small" "$large"
peak "run, 10 calls" $bin run "$work/c10" --out "$work/r10" --quiet; small=$mb
peak "run, 600 calls (3 report batches)" $bin run "$work/c600" --out "$work/r600" --quiet; large=$mb
flat "run" "$small" "$large"
peak "check, one two-hour call ($(du -sh "$work/long" | cut -f1))" $bin check "$work/long" --quiet
rm "$work"/long/*/final_stereo_recording.wav
peak "repair (rebuild final), two-hour call" $bin repair "$work/long" --quiet
