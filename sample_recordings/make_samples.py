#!/usr/bin/env python3
"""Regenerate the sample recordings in this folder.

Speech comes from espeak-ng (resampled by sox); the files are written with
Python's `wave` and `json` modules in exactly the way the real recorder
(OpusAgent's CallRecorder) writes them: caller audio in 20 ms frames all call
long, bot audio in 100-200 ms chunks that arrive faster than real time,
the real-time stereo file in arrival order with the other channel zero, and
the JSON files plus the final stereo only when the call ends.

    apt-get install espeak-ng sox
    python3 sample_recordings/make_samples.py sample_recordings

Deterministic: the same espeak-ng and sox give the same bytes.
"""

import json
import os
import random
import struct
import subprocess
import sys
import wave
from datetime import datetime, timedelta, timezone


def speak(text, rate, voice):
    """espeak-ng speech as a list of int16 samples at `rate`."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "165", "--stdout", text],
        check=True, capture_output=True).stdout
    raw = subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(rate), "-e", "signed",
         "-b", "16", "-c", "1", "-", "gain", "-3",
         # espeak-ng pads its output with silence; trim both ends.
         "silence", "1", "0.02", "0.3%", "reverse", "silence", "1", "0.02", "0.3%", "reverse"],
        input=wav, check=True, capture_output=True).stdout
    return list(struct.unpack("<%dh" % (len(raw) // 2), raw))


def pcm(samples):
    return struct.pack("<%dh" % len(samples), *samples)


def stereo(left, right):
    out = []
    for l, r in zip(left, right):
        out += (l, r)
    return pcm(out)


class Recorder:
    """The real recorder's file handling, reduced to what the samples need."""

    def __init__(self, root, session_id, start, rate):
        self.rate = rate
        self.start = start
        self.session_id = session_id
        self.dir = os.path.join(root, "%s_%s" % (session_id, start.strftime("%Y%m%d_%H%M%S")))
        os.makedirs(self.dir, exist_ok=True)
        self.waves = {}
        for name, channels in (("caller_audio", 1), ("bot_audio", 1), ("stereo_recording", 2)):
            w = wave.open(os.path.join(self.dir, name + ".wav"), "wb")
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(rate)
            self.waves[name] = w
        self.caller, self.bot = [], []
        self.caller_chunks = self.bot_chunks = 0
        self.entries, self.function_calls = [], []
        self.events = [self.event(0, "recording_started", {
            "conversation_id": session_id,
            "recording_dir": "call_recordings/" + os.path.basename(self.dir),
            "caller_sample_rate": 16000, "bot_sample_rate": 24000,
            "target_sample_rate": rate})]

    def at(self, seconds):
        return (self.start + timedelta(seconds=seconds)).isoformat()

    def event(self, seconds, kind, data):
        return {"timestamp": self.at(seconds), "event_type": kind, "data": data}

    def record_caller(self, chunk):
        self.waves["caller_audio"].writeframes(pcm(chunk))
        self.waves["stereo_recording"].writeframes(stereo(chunk, [0] * len(chunk)))
        self.caller += chunk
        self.caller_chunks += 1

    def record_bot(self, chunk):
        self.waves["bot_audio"].writeframes(pcm(chunk))
        self.waves["stereo_recording"].writeframes(stereo([0] * len(chunk), chunk))
        self.bot += chunk
        self.bot_chunks += 1

    def transcript(self, seconds, channel, text, confidence, duration_ms):
        self.entries.append({
            "timestamp": self.at(seconds), "channel": channel,
            "type": "input" if channel == "caller" else "output", "text": text,
            "confidence": confidence, "duration_ms": duration_ms})

    def function_call(self, seconds, name, arguments, result, call_id):
        call = {"timestamp": self.at(seconds), "function_name": name, "arguments": arguments,
                "result": result, "call_id": call_id}
        self.function_calls.append(call)
        self.events.append(self.event(seconds, "function_call", call))

    def crash(self):
        """The process dies: WAV headers are as the last write left them; nothing else is written."""
        for w in self.waves.values():
            w.close()

    def stop(self):
        for w in self.waves.values():
            w.close()
        end = len(self.caller) / self.rate
        sid = self.session_id
        dump = lambda name, obj: json.dump(obj, open(os.path.join(self.dir, name), "w"), indent=2)
        dump("transcript.json", {"conversation_id": sid, "session_id": sid,
                                 "start_time": self.at(0), "end_time": self.at(end),
                                 "entries": self.entries})
        cb, bb = len(self.caller) * 2, len(self.bot) * 2
        dump("call_metadata.json", {
            "conversation_id": sid, "session_id": sid, "start_time": self.at(0),
            "end_time": self.at(end), "duration_seconds": end,
            "caller_audio_chunks": self.caller_chunks, "bot_audio_chunks": self.bot_chunks,
            "caller_audio_bytes": cb, "bot_audio_bytes": bb,
            "caller_audio_duration_seconds": cb / 32000, "bot_audio_duration_seconds": bb / 32000,
            "transcript_entries": len(self.entries), "function_calls": self.function_calls})
        dump("session_events.json", {"conversation_id": sid, "session_id": sid, "events": self.events})
        n = max(len(self.caller), len(self.bot))
        left = self.caller + [0] * (n - len(self.caller))
        right = self.bot + [0] * (n - len(self.bot))
        with wave.open(os.path.join(self.dir, "final_stereo_recording.wav"), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(stereo(left, right))


def run_call(root, name, start, rate, script, seed, finish=True):
    """Play a script of ("bot"|"caller", gap, text[, function call]) on the call's
    clock; each line starts `gap` seconds after the previous one ends (a
    negative gap is a barge-in)."""
    rnd = random.Random(seed)
    rec = Recorder(root, name, start, rate)
    rec.pending = []
    frame = rate // 50
    placed, prev_end = [], 0.0
    for line in script:
        who, gap, text = line[:3]
        voice = "en-us+m3" if who == "caller" else "en-us+f3"
        speech = speak(text, rate, voice)
        if who == "bot":
            # TTS starts and ends on digital silence.
            speech = [0] * int(0.02 * rate) + speech + [0] * int(0.15 * rate)
        at = prev_end + gap
        prev_end = at + len(speech) / rate
        placed.append((line, at, speech))
    total = int((prev_end + 0.3) * rate) // frame * frame
    caller = [int(rnd.gauss(0, 4)) for _ in range(total)]
    bot_turns = []
    for line, at, speech in placed:
        who, _, text = line[:3]
        if who == "caller":
            s = int(at * rate)
            for i, v in enumerate(speech[: total - s]):
                caller[s + i] = max(-32768, min(32767, caller[s + i] + v))
            end = at + len(speech) / rate
            rec.pending.append((end + 0.3, "caller", text, round(rnd.uniform(0.8, 0.98), 2),
                                round(len(speech) * 1000 / rate)))
            if len(line) > 3:
                fname, args, result = line[3]
                rec.pending.append((end + 0.2, "function", fname, args, result))
        else:
            bot_turns.append((at, speech, text))
    # Deliver: caller frames at (k+1)*20 ms, bot chunks at their arrival times.
    arrivals = []
    for at, speech, text in bot_turns:
        t, off = at, 0
        while off < len(speech):
            n = int(rnd.uniform(0.1, 0.2) * rate)
            arrivals.append((t, speech[off:off + n]))
            off += n
            t += rnd.uniform(0.04, 0.08)
        rec.pending.append((t, "bot", text, None, round(len(speech) * 1000 / rate)))
    arrivals.sort(key=lambda a: a[0])
    b = 0
    for k in range(total // frame):
        arrived = (k + 1) * frame / rate
        while b < len(arrivals) and arrivals[b][0] < arrived:
            rec.record_bot(arrivals[b][1])
            b += 1
        rec.record_caller(caller[k * frame:(k + 1) * frame])
    for _, chunk in arrivals[b:]:
        rec.record_bot(chunk)
    calls = 0
    for item in sorted(rec.pending, key=lambda p: p[0]):
        if item[1] == "function":
            calls += 1
            rec.function_call(item[0], item[2], item[3], item[4], "call_%03d" % calls)
        else:
            rec.transcript(*item)
    if finish:
        rec.stop()
    else:
        rec.crash()
    end = start.timestamp() + total / rate
    for f in os.listdir(rec.dir):
        os.utime(os.path.join(rec.dir, f), (end, end))
    return rec.dir


CARD = [
    ("bot", 0.4, "Hello, how can I help?"),
    ("caller", 0.8, "I think I lost my card.",
     ("call_intent", {"intent": "lost_card"}, {"status": "success", "intent": "lost_card"})),
    ("bot", 0.7, "I blocked it. A new card is on the way."),
]


def main(root):
    utc = timezone.utc
    # 1. A normal call at the documented 16 kHz.
    run_call(root, "7c9e6679-7425-40de-944b-e07fc1f90ae7",
             datetime(2024, 12, 1, 14, 30, 22, 123456, tzinfo=utc), 16000, CARD, 1)
    # 2. A normal call at the newer 24 kHz: the metadata durations are 1.5x off.
    run_call(root, "0b8a3d52-6f1e-4c1a-9d7e-2f4b6a8c0e13",
             datetime(2024, 12, 2, 9, 5, 41, 500000, tzinfo=utc), 24000, [
                 ("bot", 0.3, "Hi, what can I do for you?"),
                 ("caller", 0.7, "My balance, please.",
                  ("call_intent", {"intent": "balance_inquiry"},
                   {"status": "success", "intent": "balance_inquiry"})),
                 ("bot", 1.1, "It is two thousand dollars."),
             ], 2)
    # 3. A crashed call: the recorder died, only the three WAVs remain.
    run_call(root, "9f1c2e4b-3a5d-4e6f-8071-92a3b4c5d6e7",
             datetime(2024, 12, 3, 18, 12, 5, tzinfo=utc), 16000, [
                 ("bot", 0.4, "Card services, hello."),
                 ("caller", 0.6, "My card was stolen."),
             ], 3, finish=False)
    # 4. A barge-in: the caller talks over the bot's answer.
    run_call(root, "c4d5e6f7-0818-4293-a4b5-c6d7e8f90a1b",
             datetime(2024, 12, 4, 11, 47, 30, 250000, tzinfo=utc), 16000, [
                 ("bot", 0.3, "Hello, how can I help?"),
                 ("caller", 0.6, "I want to dispute a charge.",
                  ("call_intent", {"intent": "account_inquiry"},
                   {"status": "error", "error": "upstream service timed out"})),
                 ("bot", 0.8, "Let me look at your recent payments."),
                 ("caller", -1.2, "No, transfer me please."),
             ], 4)
    # 5. A damaged final stereo file: cut short mid-sample (odd byte count).
    #    Its session id contains underscores, as the seed document's example does.
    d = run_call(root, "session_123", datetime(2024, 12, 5, 8, 0, 1, tzinfo=utc), 16000, CARD[:2], 5)
    final = os.path.join(d, "final_stereo_recording.wav")
    size = os.path.getsize(final)
    with open(final, "r+b") as f:
        f.truncate(44 + ((size - 44) // 2) | 1)
    # 6. Broken JSON: the transcript was cut off mid-file.
    d = run_call(root, "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
                 datetime(2024, 12, 6, 16, 20, 0, tzinfo=utc), 16000, CARD[:2], 6)
    path = os.path.join(d, "transcript.json")
    text = open(path).read()
    open(path, "w").write(text[: len(text) * 2 // 3])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
