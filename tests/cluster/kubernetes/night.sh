#!/bin/sh
# One night of callscope on Kubernetes, run by the callscope-nightly
# CronJob's pod: plan the day, run its shards as an Indexed Job, wait for
# it, merge the parts into REPORTS/DAY. Everything of the night lives under
# WORK/nights/DAY (the plan as ID.json, the parts under parts/ID), so nights
# never collide and a night run again after the store changed (another
# plan, another Job) never meets its earlier parts.
#
# Environment (the CronJob sets it): RECORDINGS, WORK, REPORTS, SHARDS,
# CALLSCOPE_DAY_TZ; DAY (default: yesterday there); MERGE_OPTIONS (merge's
# --max-error-ratio, --metrics …); JOB_TEMPLATE (callscope-shards.yaml).
set -eu
day=${DAY:-$(TZ=${CALLSCOPE_DAY_TZ:-UTC} date -d yesterday +%F)}
night="$WORK/nights/$day"
mkdir -p "$night"
# Exits 1 (saying why) when the day selects nothing: a store that did
# not mount starts no Job.
id=$(callscope plan "$RECORDINGS" --since "$day" --until "$day" --shards "$SHARDS" \
  -o "$night/{plan}.json")
job="callscope-shards-$day-$(printf %s "$id" | cut -c1-8)"
# The same plan run again (a failed night retried): its Job anew.
kubectl delete job "$job" --ignore-not-found --wait=true >/dev/null
sed -e "s|__JOB__|$job|g" -e "s|__PLAN__|$night/$id.json|g" \
  -e "s|__PARTS__|$night/parts|g" -e "s|^  completions: .*|  completions: $SHARDS|" \
  "${JOB_TEMPLATE:-/etc/callscope/callscope-shards.yaml}" | kubectl apply -f - >/dev/null
echo "plan $id: job $job"
while :; do
  state=$(kubectl get job "$job" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}')
  case " $state " in
    *" Complete "*) break ;;
    *" Failed "*)
      echo "callscope: exit 1: the shards of plan $id failed (kubectl describe job $job); run the night again" >&2
      exit 1 ;;
  esac
  sleep "${POLL_SECONDS:-30}"
done
# shellcheck disable=SC2086 # MERGE_OPTIONS are words.
exec callscope merge "$night/parts/$id"/* -o "$REPORTS/$day" --replace -v ${MERGE_OPTIONS:-}
