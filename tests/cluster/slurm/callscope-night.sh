#!/bin/sh
# One night of the sharded job on Slurm: the plan, the job array of its
# shards, and the merge that runs once every task has succeeded. Run it
# every night (cron on the login node, or scrontab):
#
#   callscope-night.sh ROOT REPORTS WORK SHARDS [DAY] [-- MERGE OPTIONS]
#   30 2 * * *  callscope-night.sh /srv/call_recordings /srv/reports /shared/callscope 16
#
# DAY (default: yesterday) is analysed into REPORTS/DAY. Everything of the
# night lives under WORK/DAY: the plan, named by its id, and the parts
# under parts/ID/K, so nights never collide, and a night run again (the
# store changed: another plan) never meets its earlier parts. Merge
# options after -- (--max-error-ratio 0.05 --metrics FILE).
#
# A failed task: the merge is cancelled (--kill-on-invalid-dep), never
# left pending. Submit that index again, then the merge, with the ids
# this script prints:
#   sbatch --array=K callscope-shards.sbatch WORK/DAY/ID.json WORK/DAY/parts
#   sbatch --dependency=afterok:JOB callscope-merge.sbatch WORK/DAY/parts/ID REPORTS/DAY
# (a retried task replaces its own earlier output). A task on a node that
# fails is requeued by Slurm (--requeue).
set -eu
here=$(dirname "$0")
root=$1 reports=$2 work=$3 shards=$4
shift 4
day=$(date -d yesterday +%F)
if [ $# -gt 0 ] && [ "$1" != "--" ]; then day=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
night="$work/$day"
mkdir -p "$night"
# Exits 1 (saying why) when the day selects nothing: a store that did
# not mount submits no job.
id=$("${CALLSCOPE:-callscope}" plan "$root" --since "$day" --until "$day" \
  --shards "$shards" -o "$night/{plan}.json")
array=$(sbatch --parsable --requeue --array="0-$((shards - 1))" \
  "$here/callscope-shards.sbatch" "$night/$id.json" "$night/parts")
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  "$here/callscope-merge.sbatch" "$night/parts/$id" "$reports/$day" "$@")
echo "plan $id: array $array, merge $merge"
