#!/usr/bin/env python3
"""The minimum supported Rust version, checked without a second toolchain
(none can be installed here): every package in the build declares a
rust-version no newer than ours, so `cargo build` on our rust-version
resolves and compiles them; our own code's use of the standard library is
checked against the same rust-version by clippy's `incompatible_msrv` lint,
which `cargo clippy -- -D warnings` turns into an error."""
import json
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in v.split("."))


meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
ours = next(p for p in meta["packages"] if p["name"] == "callscope")["rust_version"]
if not ours:
    sys.exit("Cargo.toml: callscope declares no rust-version")
resolved = {n["id"] for n in meta["resolve"]["nodes"]}
late = [
    f'{p["name"]} {p["version"]} needs Rust {p["rust_version"]}'
    for p in meta["packages"]
    if p["id"] in resolved
    and p.get("rust_version")
    and version(p["rust_version"]) > version(ours)
]
if late:
    sys.exit(f"rust-version {ours} is too old for:\n  " + "\n  ".join(late))
print(f"MSRV {ours}: every one of {len(resolved)} packages builds on it")
