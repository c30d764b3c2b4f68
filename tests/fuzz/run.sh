#!/usr/bin/env bash
# Fuzz every target for a fixed budget and report execs and findings.
#
#   tests/fuzz/run.sh [RUNS]        # default 10,000,000 execs per target
#   TARGETS="riff policy" tests/fuzz/run.sh 1000000
#
# Needs a nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
# Each target runs with a 512 MiB cap on any single allocation and 2 GiB of
# memory in all: an input that needs more is a finding. Crashes, hangs
# (> 10 s) and over-allocations land in tests/fuzz/artifacts/<target>/;
# copy each into tests/fuzz/regressions/<target>/ once fixed, where
# `cargo test --test fuzz_regressions` replays it.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-10000000}"
targets="${TARGETS:-riff json_models policy timeline call_json}"
[ -d tests/fuzz/corpus ] || python3 tests/fuzz/make_seeds.py
cargo +nightly fuzz build --fuzz-dir tests/fuzz -O
for t in $targets; do
  mkdir -p "tests/fuzz/corpus/$t" "tests/fuzz/artifacts/$t"
  start=$(date +%s)
  log="tests/fuzz/artifacts/$t.log"
  set +e
  cargo +nightly fuzz run --fuzz-dir tests/fuzz -O "$t" "tests/fuzz/corpus/$t" -- \
    -runs="$runs" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -artifact_prefix="tests/fuzz/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  found=$(find "tests/fuzz/artifacts/$t" -type f | wc -l)
  echo "$t: $execs execs in ${secs}s, exit $rc, $found finding(s) in tests/fuzz/artifacts/$t/"
done
