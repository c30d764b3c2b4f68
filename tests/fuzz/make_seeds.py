#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the sample recordings and a few
small synthetic calls (a real-time file, a caller and a bot track that
agree, as the recorder writes them). Writes corpus/<target>/."""
import glob
import os
import random
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
samples = os.path.join(here, "..", "..", "sample_recordings")
out = os.path.join(here, "corpus")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def wav(channels, samples_, rate=16000):
    data = struct.pack("<%dh" % len(samples_), *samples_)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate,
                                     rate * 2 * channels, 2 * channels, 16)
            + b"data" + struct.pack("<I", len(data)) + data)


for i, p in enumerate(sorted(glob.glob(os.path.join(samples, "*", "*.wav")))):
    with open(p, "rb") as f:
        b = f.read()
    put("riff", "sample%02d" % i, b[:4096])
for i, p in enumerate(sorted(glob.glob(os.path.join(samples, "*", "*.json")))):
    with open(p, "rb") as f:
        put("json_models", "sample%02d" % i, f.read())
# call_json: a call's three JSON files, each but the last after its length
# (two bytes, little-endian), behind one byte the target ignores.
for i, d in enumerate(sorted(glob.glob(os.path.join(samples, "*", "")))):
    parts = []
    for name in ("call_metadata.json", "transcript.json", "session_events.json"):
        p = os.path.join(d, name)
        parts.append(open(p, "rb").read() if os.path.exists(p) else b"")
    if len(parts[0]) < 65536 and len(parts[1]) < 65536:
        put("call_json", "sample%02d" % i, b"\x13" + b"".join(
            struct.pack("<H", len(x)) + x for x in parts[:2]) + parts[2])
for i, p in enumerate(sorted(glob.glob(os.path.join(samples, "*.toml")))):
    with open(p, "rb") as f:
        put("policy", "sample%02d" % i, f.read())
put("policy", "periods", b'[[rule]]\nolder_than = "P6M"\naction = "delete"\n'
    b'[[rule]]\ndefault = true\naction = "keep"\n')

rng = random.Random(1)
for n in range(6):
    chunk = rng.choice([10, 16, 20, 32])
    caller, bot, rt = [], [], []
    for _ in range(rng.randint(20, 60)):
        c = [rng.choice([0, 0, rng.randint(-900, 900)]) for _ in range(chunk)]
        caller += c
        rt += [s for x in c for s in (x, 0)]
        if rng.random() < 0.3:
            b = [rng.randint(-3000, 3000) if rng.random() < 0.8 else 0
                 for _ in range(rng.randint(5, 60))]
            bot += b
            rt += [s for x in b for s in (0, x)]
    files = [wav(2, rt), wav(1, caller), wav(1, bot)]
    data = bytes([chunk - 1])
    for f in files[:2]:
        data += struct.pack("<H", len(f)) + f
    data += files[2]
    put("timeline", "synthetic%d" % n, data)
print("seeds in", out, file=sys.stderr)
