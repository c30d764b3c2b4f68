#!/usr/bin/env python3
"""What a Python user would script instead of `callscope run`, for the run
benchmark: the same corpus through numpy and py-webrtcvad, one process per
core.

    python_pipeline.py CORPUS OUT.csv [--jobs N]

For every recording under CORPUS (a directory holding caller_audio.wav), one
CSV row: the bot's response times from the transcript (mean and the
largest), the intents of the call's function calls, each track's speech
seconds by an energy VAD (16 ms frames, 15 dB above the track's noise floor,
the 10th percentile of its frames) and by py-webrtcvad (mode 3, 30 ms
frames), and whether each channel of the final stereo recording matches its
mono track sample for sample. That is callscope's own run in outline; the
rows are not compared, only the time.

Needs numpy and webrtcvad. Exits 3 naming what is missing.
"""

import argparse
import csv
import importlib.util
import json
import os
import sys
import wave
from datetime import datetime
from multiprocessing import Pool

MISSING = 3

for module in ("numpy", "webrtcvad"):
    if importlib.util.find_spec(module) is None:
        print(f"python module {module} is missing (pip install {module})", file=sys.stderr)
        sys.exit(MISSING)

import numpy as np  # noqa: E402
import webrtcvad  # noqa: E402


def read_wav(path):
    with wave.open(path, "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    # A truncated file ends mid-frame: keep the whole frames.
    data = np.frombuffer(raw[: len(raw) // (2 * channels) * 2 * channels], dtype="<i2")
    return rate, data.reshape(-1, channels) if channels > 1 else data


def energy_speech_s(x, rate):
    frame = rate * 16 // 1000
    n = len(x) // frame
    if n == 0:
        return 0.0
    f = x[: n * frame].astype(np.float64).reshape(n, frame)
    db = 10 * np.log10(np.maximum((f * f).mean(axis=1), 1e-3) / 32768.0**2)
    live = db[db > -100]
    floor = np.percentile(live, 10) if len(live) else -100.0
    threshold = min(max(floor + 15, -55), -45)
    return float((db > threshold).sum() * frame / rate)


def webrtc_speech_s(x, rate, vad):
    if rate not in (8000, 16000, 32000, 48000):
        # webrtcvad takes only these rates: to 16 kHz, linearly.
        n = len(x) * 16000 // rate
        x = np.interp(np.arange(n) * (rate / 16000), np.arange(len(x)), x).astype("<i2")
        rate = 16000
    frame = rate * 30 // 1000
    raw = x.astype("<i2").tobytes()
    step = frame * 2
    speech = sum(
        vad.is_speech(raw[i : i + step], rate) for i in range(0, len(raw) - step + 1, step)
    )
    return speech * frame / rate


def when(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def analyze(d):
    try:
        return analyze_one(d)
    except Exception as e:  # one bad recording does not stop the batch
        return {"recording": os.path.basename(d), "error": repr(e)}


def analyze_one(d):
    with open(os.path.join(d, "transcript.json")) as f:
        entries = json.load(f).get("entries", [])
    rts, heard = [], None
    for e in entries:
        if e.get("channel") == "caller":
            heard = when(e["timestamp"])
        elif e.get("channel") == "bot" and heard is not None:
            rts.append(when(e["timestamp"]) - heard)
            heard = None
    with open(os.path.join(d, "call_metadata.json")) as f:
        calls = json.load(f).get("function_calls", [])
    intents = sorted(
        str((c.get("arguments") or {}).get("intent", c.get("function_name", ""))) for c in calls
    )
    vad = webrtcvad.Vad(3)
    rate, caller = read_wav(os.path.join(d, "caller_audio.wav"))
    bot_rate, bot = read_wav(os.path.join(d, "bot_audio.wav"))
    row = {
        "recording": os.path.basename(d),
        "rt_mean_s": round(float(np.mean(rts)), 3) if rts else "",
        "rt_max_s": round(float(np.max(rts)), 3) if rts else "",
        "intents": ";".join(intents),
        "caller_energy_s": round(energy_speech_s(caller, rate), 2),
        "bot_energy_s": round(energy_speech_s(bot, bot_rate), 2),
        "caller_webrtcvad_s": round(webrtc_speech_s(caller, rate, vad), 2),
        "bot_webrtcvad_s": round(webrtc_speech_s(bot, bot_rate, vad), 2),
    }
    final = os.path.join(d, "final_stereo_recording.wav")
    if os.path.exists(final):
        _, st = read_wav(final)
        for name, mono, ch in (("final_left_ok", caller, 0), ("final_right_ok", bot, 1)):
            n = min(len(mono), len(st))
            row[name] = bool(np.array_equal(st[:n, ch], mono[:n])) if st.ndim == 2 else False
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    a = ap.parse_args()
    dirs = sorted(
        root
        for root, _, files in os.walk(a.corpus)
        if "caller_audio.wav" in files and "transcript.json" in files
    )
    with Pool(a.jobs) as pool:
        rows = pool.map(analyze, dirs, chunksize=4)
    fields = sorted({k for r in rows for k in r}, key=lambda k: (k != "recording", k))
    with open(a.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
