#!/usr/bin/env python3
"""The Python peers of callscope's voice-activity detectors, for the
benchmarks: py-webrtcvad (modes 0-3) and Silero VAD (its ONNX model, run by
onnxruntime without torch).

    vad_peers.py CORPUS OUT.json [--only caller|bot] [--detectors LIST]

For every recording under CORPUS, every detector's speech spans of the
caller and the bot tracks, in seconds on each track's own clock, and the
time each detector took (seconds, one core) over the whole corpus:

    {"seconds": {"webrtcvad-3": 1.2, ...},
     "recordings": {"NAME": {"caller": {"webrtcvad-3": [[s, e], ...], ...},
                             "bot": {...}}}}

webrtcvad decides on 30 ms frames; its frames are joined across pauses
shorter than 200 ms and runs shorter than 60 ms dropped, as callscope does
with its own detectors. Silero decides on 32 ms windows; its spans are what
its own get_speech_timestamps makes of them with the defaults (threshold
0.5, 0.15 below that to end, 250 ms shortest speech, 100 ms shortest
silence, 30 ms padding), reimplemented here because that function needs
torch.

Needs: numpy, webrtcvad, onnxruntime, and the silero-vad package (installed
with --no-deps; only its model file is used). Exits 3 naming what is missing.
"""

import argparse
import importlib.util
import json
import os
import sys
import time
import wave

MISSING = 3


def need(module):
    if importlib.util.find_spec(module) is None:
        print(f"vad_peers.py: Python module '{module}' is not installed", file=sys.stderr)
        sys.exit(MISSING)


def read_mono(path):
    import numpy as np

    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: not 16-bit mono")
        rate = w.getframerate()
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2"), rate


def tidy(spans, gap=0.2, shortest=0.06):
    out = []
    for s, e in spans:
        if out and s <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [[round(s, 4), round(e, 4)] for s, e in out if e - s >= shortest]


def runs(flags, step):
    spans, start = [], None
    for i, f in enumerate(flags):
        if f and start is None:
            start = i
        elif not f and start is not None:
            spans.append([start * step, i * step])
            start = None
    if start is not None:
        spans.append([start * step, len(flags) * step])
    return spans


class WebRtc:
    def __init__(self, mode):
        import webrtcvad

        self.name = f"webrtcvad-{mode}"
        self.vad = webrtcvad.Vad(mode)

    def spans(self, x, rate):
        frame = rate * 30 // 1000
        raw = x[: len(x) // frame * frame].tobytes()
        step = frame * 2
        flags = [self.vad.is_speech(raw[i : i + step], rate) for i in range(0, len(raw), step)]
        return tidy(runs(flags, frame / rate))


class Silero:
    name = "silero"

    def __init__(self):
        import numpy as np
        import onnxruntime

        spec = importlib.util.find_spec("silero_vad")
        model = os.path.join(spec.submodule_search_locations[0], "data", "silero_vad.onnx")
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            model, sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.np = np

    def probabilities(self, x, rate):
        np = self.np
        if rate != 16000:
            raise ValueError(f"Silero here runs at 16 kHz, not {rate}")
        window, context = 512, 64
        audio = x.astype(np.float32) / 32768.0
        state = np.zeros((2, 1, 128), dtype=np.float32)
        ctx = np.zeros((1, context), dtype=np.float32)
        sr = np.array(16000, dtype=np.int64)
        probs = []
        for i in range(0, len(audio) - window + 1, window):
            chunk = audio[i : i + window].reshape(1, window)
            inp = np.concatenate([ctx, chunk], axis=1)
            out, state = self.session.run(None, {"input": inp, "state": state, "sr": sr})
            ctx = inp[:, -context:]
            probs.append(float(out[0][0]))
        return probs, window / rate

    def spans(self, x, rate):
        probs, step = self.probabilities(x, rate)
        threshold, neg = 0.5, 0.35
        min_speech, min_silence, pad = 0.25, 0.1, 0.03
        spans, start, silence_from = [], None, None
        for i, p in enumerate(probs):
            t = i * step
            if p >= threshold:
                silence_from = None
                if start is None:
                    start = t
            elif p < neg and start is not None:
                if silence_from is None:
                    silence_from = t
                if t + step - silence_from >= min_silence:
                    spans.append([start, silence_from])
                    start, silence_from = None, None
        if start is not None:
            spans.append([start, len(probs) * step])
        spans = [s for s in spans if s[1] - s[0] >= min_speech]
        total = len(x) / rate
        padded = []
        for s, e in spans:
            s, e = max(0.0, s - pad), min(total, e + pad)
            if padded and s <= padded[-1][1]:
                padded[-1][1] = max(padded[-1][1], e)
            else:
                padded.append([s, e])
        return [[round(s, 4), round(e, 4)] for s, e in padded]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--only", choices=["caller", "bot"])
    ap.add_argument("--detectors", default="webrtcvad-0,webrtcvad-1,webrtcvad-2,webrtcvad-3,silero")
    args = ap.parse_args()
    for m in ["numpy", "webrtcvad", "onnxruntime", "silero_vad"]:
        need(m)
    detectors = []
    for name in args.detectors.split(","):
        if name.startswith("webrtcvad-"):
            detectors.append(WebRtc(int(name.split("-")[1])))
        elif name == "silero":
            detectors.append(Silero())
        else:
            sys.exit(f"vad_peers.py: unknown detector {name}")
    tracks = ["caller", "bot"] if args.only is None else [args.only]
    seconds = {d.name: 0.0 for d in detectors}
    recordings = {}
    for name in sorted(os.listdir(args.corpus)):
        rec = os.path.join(args.corpus, name)
        if not os.path.isdir(rec):
            continue
        recordings[name] = {}
        for track in tracks:
            x, rate = read_mono(os.path.join(rec, f"{track}_audio.wav"))
            found = {}
            for d in detectors:
                t0 = time.process_time()
                found[d.name] = d.spans(x, rate)
                seconds[d.name] += time.process_time() - t0
            recordings[name][track] = found
    with open(args.out, "w") as f:
        json.dump({"seconds": seconds, "recordings": recordings}, f)


if __name__ == "__main__":
    main()
