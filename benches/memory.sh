#!/usr/bin/env bash
# Peak memory of `check`, `run`, `merge` and `repair`: 10 recordings, 600 (three of
# run's 256-call batches) and 2,400 (ten), and one two-hour call (it must
# not be loaded whole). A run holds a batch of calls at a time, so 10 calls
# cost less than a batch; past the first batch the peak must stay put.
# Needs GNU time (Debian package `time`) and awk. Fails loudly when a
# command fails, or when 2,400 calls take more than 1.15x the memory of 600.
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

flat() { # label, MB at 600 calls, MB at 2400 calls
  awk -v a="$2" -v b="$3" -v l="$1" 'BEGIN {
    r = b / a; printf "  %-44s %.2fx (%.2f KB a call more)\n", l ": 2,400 calls / 600", r, (b - a) * 1024 / 1800;
    if (r > 1.15) { print "FAILED: memory grows with the number of calls" > "/dev/stderr"; exit 1 } }'
}

$bin simulate --out "$work/c10" --calls 10 --seconds 20 --quiet
# What a call costs in memory is its files and findings, not its length.
$bin simulate --out "$work/c600" --calls 600 --seconds 5 --quiet
$bin simulate --out "$work/c2400" --calls 2400 --seconds 5 --quiet
$bin simulate --out "$work/long" --calls 1 --seconds 7200 --quiet
echo "memory (2 threads):"
peak "check, 10 calls" $bin check "$work/c10" --quiet
peak "check, 600 calls" $bin check "$work/c600" --quiet; small=$mb
peak "check, 2,400 calls" $bin check "$work/c2400" --quiet; large=$mb
flat "check" "$small" "$large"
peak "run, 10 calls" $bin run "$work/c10" --out "$work/r10" --quiet
peak "run, 600 calls (3 batches)" $bin run "$work/c600" --out "$work/r600" --quiet; small=$mb
peak "run, 2,400 calls (10 batches)" $bin run "$work/c2400" --out "$work/r2400" --quiet; large=$mb
flat "run" "$small" "$large"
# merge streams its inputs a line at a time: the nights' calls are never
# held together.
peak "merge, 600 calls" $bin merge "$work/r600" --out "$work/m600" --fail-on never; small=$mb
peak "merge, 2,400 calls" $bin merge "$work/r2400" --out "$work/m2400" --fail-on never; large=$mb
flat "merge" "$small" "$large"
peak "check, one two-hour call ($(du -sh "$work/long" | cut -f1))" $bin check "$work/long" --quiet
rm "$work"/long/*/final_stereo_recording.wav
peak "repair (rebuild final), two-hour call" $bin repair "$work/long" --quiet
