#!/usr/bin/env bash
# Mutation testing (cargo-mutants) over the modules users trust, each module
# with the test targets that exercise it; slow, so not part of CI.
#
#   tests/mutants/run.sh                 every module below
#   tests/mutants/run.sh check retention some of them
#   tests/mutants/run.sh --in-diff FILE  only the mutants a diff touches
#                                        (git diff main > FILE), every module
#   tests/mutants/run.sh --fresh check   forget earlier results (a run cut
#                                        short otherwise goes on from them)
#
# Results go to target/mutants/<module>/mutants.out (missed.txt, caught.txt,
# outcomes.json). Extra cargo-mutants arguments may follow `--`.
# Needs `cargo install cargo-mutants`.
set -euo pipefail
cd "$(dirname "$0")/../.."

# module → files, and the test targets run against each of its mutants.
# cargo stops at the first failing target, so the quick ones come first.
declare -A files=(
  [check]='src/check/**'
  [retention]='src/retention/**'
  [repair]='src/repair/**'
  [safe_fs]='src/safe_fs.rs src/safe_fs/**'
  [redact]='src/recording/redact.rs'
  [lock]='src/lock.rs'
  [timeline]='src/timeline/**'
  [analyze]='src/analyze/**'
  [plugin]='src/plugin/**'
)
# Two passes: the quick targets that exercise the module first, then the
# survivors again (--iterate skips what was caught) with the slower
# end-to-end targets added. cargo stops at the first failing target.
declare -A quick=(
  [check]='--lib --test check_repair --test cli --test data_safety --test exit_codes --test fuzz_regressions'
  [retention]='--lib --test retention --test data_safety --test exit_codes --test fuzz_regressions'
  [repair]='--lib --test repair_plan --test check_repair --test data_safety'
  [safe_fs]='--lib --test data_safety --test check_repair --test view'
  [redact]='--lib --test view'
  [lock]='--lib --test concurrency'
  [timeline]='--lib --test fuzz_regressions --test simulate'
  [analyze]='--lib --test columns --test run --test turn_taking'
  [plugin]='--lib --test plugins --test abi'
)
declare -A broad=(
  [check]='--test retention --test run --test promises --test nightly --test list'
  [retention]='--test concurrency --test nightly --test fault_injection'
  [repair]='--test concurrency --test fault_injection --test promises'
  [safe_fs]='--test concurrency --test fault_injection --test retention'
  [redact]=''
  [lock]='--test retention --test check_repair'
  [timeline]='--test run --test promises'
  [analyze]='--test line_conditions --test retention --test promises --test sql --test nightly'
  [plugin]='--test run --test cli'
)
order=(check retention safe_fs redact lock repair timeline analyze plugin)

# "--lib --test a" → "-C --lib -C --test=a"
targets() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --test) echo "-C --test=$2"; shift 2 ;;
      *) echo "-C $1"; shift ;;
    esac
  done
}

diff=()
fresh=0
modules=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --in-diff) diff=(--in-diff "$2"); shift 2 ;;
    --fresh) fresh=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) [ -n "${files[$1]:-}" ] || { echo "unknown module '$1' (one of: ${order[*]})" >&2; exit 2; }
       modules+=("$1"); shift ;;
  esac
done
[ ${#modules[@]} -gt 0 ] || modules=("${order[@]}")

# A mutant that makes a loop endless is timed out, but the callscope it
# was running for a test can outlive the test (a test that signals it
# starts it in a process group of its own) and go on spinning, slowing
# every mutant after it (it takes SIGTERM as a request to finish, which an
# endless loop never does): anything from a mutant's build older than the
# quick pass's timeout is killed.
( while sleep 30; do
    pkill -KILL --older 150 -f 'cargo-mutants-.*/target/mutants/callscope' || true
  done ) &
reaper=$!
trap 'kill $reaper 2>/dev/null' EXIT

status=0
for m in "${modules[@]}"; do
  fargs=()
  set -f; for f in ${files[$m]}; do fargs+=(--file "$f"); done; set +f
  echo "== $m: $(cargo mutants --list "${fargs[@]}" "${diff[@]}" | wc -l) mutants"
  [ $fresh = 0 ] || rm -rf "target/mutants/$m"
  mkdir -p "target/mutants/$m"
  # --profile mutants: no debug info, so each mutant links in seconds.
  # --iterate: a run cut short goes on where it stopped (--fresh forgets).
  common=("${fargs[@]}" "${diff[@]}" --profile mutants --iterate --output "target/mutants/$m")
  # The targets go to every cargo command (-C), so each mutant builds
  # only the test binaries it runs. The quick targets take seconds: a
  # mutant still running after two minutes has made a loop endless (a
  # timeout counts as caught), and waiting longer for it only costs.
  cargo mutants "${common[@]}" --timeout 120 $(targets ${quick[$m]}) "${extra[@]}" || true
  if [ -n "${broad[$m]}" ]; then
    cargo mutants "${common[@]}" --timeout 300 --baseline skip $(targets ${quick[$m]} ${broad[$m]}) "${extra[@]}" || true
  fi
  # The module's verdict is the last pass's: survivors are listed in missed.txt.
  if [ -s "target/mutants/$m/mutants.out/missed.txt" ]; then
    echo "== $m: $(wc -l < "target/mutants/$m/mutants.out/missed.txt") survived (target/mutants/$m/mutants.out/missed.txt)"
    status=1
  fi
done
exit $status
