#!/usr/bin/env python3
"""kubectl for the test suite: the verbs night.sh uses, with a Job's pods
run as plain processes on this machine, one index after another, as the
Job's spec says — the container's command with $(VAR) expanded from its
env as the kubelet does, JOB_COMPLETION_INDEX set, backoffLimitPerIndex
retries, podFailurePolicy's FailIndex exit codes. Each applied Job is kept
as KUBECTL_STATE/NAME.yaml (the test validates it) and its outcome as
NAME.status."""
import os
import re
import subprocess
import sys

import yaml

state = os.environ["KUBECTL_STATE"]
args = sys.argv[1:]


def status_file(name):
    return os.path.join(state, name + ".status")


if args[:2] == ["delete", "job"]:
    for ext in (".status", ".yaml"):
        try:
            os.remove(os.path.join(state, args[2] + ext))
        except FileNotFoundError:
            pass
elif args[:3] == ["apply", "-f", "-"]:
    text = sys.stdin.read()
    job = yaml.safe_load(text)
    name = job["metadata"]["name"]
    with open(os.path.join(state, name + ".yaml"), "w") as f:
        f.write(text)
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed", spec
    container = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    fail_index = set()
    for rule in spec.get("podFailurePolicy", {}).get("rules", []):
        if rule["action"] == "FailIndex":
            fail_index |= set(rule["onExitCodes"]["values"])
    failed = False
    for index in range(spec["completions"]):
        pod_env = dict(os.environ, **env, JOB_COMPLETION_INDEX=str(index))
        command = [
            re.sub(r"\$\((\w+)\)", lambda m: pod_env.get(m.group(1), m.group(0)), a)
            for a in container["command"]
        ]
        for _ in range(spec.get("backoffLimitPerIndex", 0) + 1):
            code = subprocess.call(command, env=pod_env)
            if code == 0 or code in fail_index:
                break
        failed |= code != 0
    with open(status_file(name), "w") as f:
        f.write("Failed" if failed else "Complete")
elif args[:2] == ["get", "job"]:
    with open(status_file(args[2])) as f:
        print(f.read(), end="")
else:
    sys.exit("kubectl-as-processes: not a verb night.sh uses: " + " ".join(args))
