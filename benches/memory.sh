#!/usr/bin/env bash
# Peak memory of `check` and `repair`: 10 recordings against 100 (it must
# not grow with their number), and one two-hour call (it must not be loaded
# whole). Needs GNU time (Debian package `time`) and awk.
#   bash benches/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/callscope
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

peak() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>&1 || true
  printf '  %-40s peak RSS %6.1f MB\n' "$label" "$(awk '{print $1 / 1024}' "$work/rss")"
}

$bin simulate --out "$work/c10" --calls 10 --seconds 120 --quiet
$bin simulate --out "$work/c100" --calls 100 --seconds 120 --quiet
$bin simulate --out "$work/long" --calls 1 --seconds 7200 --quiet
echo "memory (2 threads):"
peak "check, 10 two-minute calls" $bin check "$work/c10" --quiet
peak "check, 100 two-minute calls" $bin check "$work/c100" --quiet
peak "run, 10 two-minute calls" $bin run "$work/c10" --out "$work/r10" --quiet
peak "run, 100 two-minute calls" $bin run "$work/c100" --out "$work/r100" --quiet
peak "check, one two-hour call ($(du -sh "$work/long" | cut -f1))" $bin check "$work/long" --quiet
rm "$work"/long/*/final_stereo_recording.wav
peak "repair (rebuild final), two-hour call" $bin repair "$work/long" --quiet
