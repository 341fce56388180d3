#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Synthesises the pretraining corpus of the bundled backbone from Debian packages only.

    tools/make_corpus.py OUT_DIR [--per-class N] [--seed S] [--jobs J]

OUT_DIR/<class>/<n>.wav, 16 kHz mono 16-bit, at most 1.0 s each, one folder per class (the
folder-per-class layout `astpeft train` reads). 63 classes, --per-class clips each (120):

  speech    30 English words (never the demo's ten Speech Commands words yes, no, up, down, left,
            right, on, off, stop, go) spoken by espeak-ng in 7 English accents x 15 voice
            variants, at random speeds (110-230 words/min) and pitches (15-85); and 8 classes
            "lang-XX" of random pseudo-words read by the espeak-ng voice of another language.
            The variants f3, f4, m5, m6 and the accent en-gb-scotland are held out: the demo
            (tools/make_demo.sh) uses them, so the transfer report tests unseen voices.
  music     the 16 General MIDI instrument families (8 programs each) playing single notes and
            chords, and a drum-kit class, rendered by FluidSynth with the TimGM6mb soundfont.
  sounds    8 sox classes: white, pink and brown noise, tones (sine/square/triangle, with and
            without tremolo), upward and downward sweeps, mains hum with harmonics, click trains.
  mixtures  a quarter of the speech and music clips are mixed with a sound clip at 5-20 dB SNR
            (the label stays the foreground's).

Deterministic: every random choice is drawn up front from one seeded generator, sox runs with
-R, espeak-ng and FluidSynth are deterministic, so the same seed gives byte-identical files.
Needs: espeak-ng, sox, fluidsynth, timgm6mb-soundfont (tools/make_backbone.sh installs them).
Python standard library only.
"""
import argparse
import array
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from multiprocessing import Pool

RATE = 16000
MAX_SAMPLES = RATE  # 1.0 s
SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"

WORDS = ("zero one two three four five six seven eight nine bed bird cat dog happy house marvin "
         "sheila tree wow forward backward follow learn visual apple water music window "
         "yellow").split()
ACCENTS = ["en-gb", "en-us", "en-029", "en-gb-x-rp", "en-us-nyc", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd"]
VARIANTS = ["", "m1", "m2", "m3", "m4", "m7", "m8", "f1", "f2", "f5", "klatt", "klatt2",
            "klatt3", "croak", "whisper"]
LANGUAGES = ["de", "fr", "es", "it", "pl", "nl", "sv", "hu"]
FAMILIES = ["piano", "chromatic-percussion", "organ", "guitar", "bass", "strings", "ensemble",
            "brass", "reed", "pipe", "synth-lead", "synth-pad", "synth-effects", "ethnic",
            "percussive", "sound-effects"]
SOUNDS = ["noise-white", "noise-pink", "noise-brown", "tone", "sweep-up", "sweep-down", "hum",
          "clicks"]


def read_wav(path):
    """Mono int16 samples of a 16-bit WAV (channels averaged)."""
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getframerate() == RATE, path
        channels = w.getnchannels()
        data = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    if channels == 1:
        return data
    return array.array("h", (sum(data[i:i + channels]) // channels
                             for i in range(0, len(data), channels)))


def write_wav(path, samples):
    data = array.array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())


def trim(samples, threshold=200):
    """Drops leading and trailing samples below `threshold`, then keeps at most 1.0 s."""
    start = next((i for i, s in enumerate(samples) if abs(s) >= threshold), 0)
    end = len(samples)
    while end > start + 1 and abs(samples[end - 1]) < threshold:
        end -= 1
    return samples[start:min(end, start + MAX_SAMPLES)]


def rms(samples):
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples))) or 1.0


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def speak(job):
    """job: (out, voice, speed, pitch, text). Writes the trimmed utterance."""
    out, voice, speed, pitch, text = job
    raw = out + ".raw.wav"
    run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw, text])
    # espeak-ng speaks at 22.05 kHz; sox resamples to 16 kHz.
    tmp = out + ".16k.wav"
    run(["sox", "-R", raw, "-r", str(RATE), "-c", "1", "-b", "16", tmp])
    write_wav(out, trim(read_wav(tmp)))
    os.remove(raw)
    os.remove(tmp)
    return out


def synth(job):
    """job: (out, sox synth arguments after `synth 1`, effects)."""
    out, args, effects = job
    run(["sox", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", out, "synth", "1"] + args
        + effects)
    return out


def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi(path, events):
    """events: (tick, status bytes) with absolute ticks at 480 ticks per beat, 120 bpm."""
    track = b""
    last = 0
    for tick, data in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80)):
        track += vlq(tick - last) + bytes(data)
        last = tick
    track += b"\x00\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480))
        f.write(b"MTrk" + struct.pack(">I", len(track)) + track)


TICKS_PER_SECOND = 960  # 480 ticks per beat at 120 beats per minute
SLOT_SECONDS = 1.5  # one note or chord per slot; clips are cut at the slot starts


def render(job):
    """job: (midi path, wav path). Renders with FluidSynth at 16 kHz."""
    midi, wav = job
    run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(RATE), "-F", wav, SOUNDFONT, midi])
    return wav


def plan(rng, per_class):
    """Every random decision, up front, so that the output does not depend on scheduling."""
    speech, sounds, music = [], [], []
    for word in WORDS:
        for n in range(per_class):
            voice = rng.choice(ACCENTS)
            variant = rng.choice(VARIANTS)
            if variant:
                voice += "+" + variant
            speech.append((word, n, voice, rng.randint(110, 230), rng.randint(15, 85), word))
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    for lang in LANGUAGES:
        for n in range(per_class):
            word = "".join(rng.choice(consonants) + rng.choice(vowels)
                           + (rng.choice(consonants) if rng.random() < 0.4 else "")
                           for _ in range(rng.randint(2, 4)))
            variant = rng.choice(VARIANTS)
            voice = lang + ("+" + variant if variant else "")
            speech.append(("lang-" + lang, n, voice, rng.randint(110, 230), rng.randint(15, 85),
                           word))
    for label in SOUNDS:
        for n in range(per_class):
            vol = ["vol", "%.3f" % rng.uniform(0.05, 0.6)]
            f = rng.uniform(80, 4000)
            if label.startswith("noise-"):
                args, fx = [label[6:] + "noise"], vol
            elif label == "tone":
                args = [rng.choice(["sine", "square", "triangle"]), "%.1f" % f]
                fx = vol + (["tremolo", "%.1f" % rng.uniform(2, 12), "60"]
                            if rng.random() < 0.5 else [])
            elif label in ("sweep-up", "sweep-down"):
                lo, hi = rng.uniform(80, 800), rng.uniform(1500, 7000)
                a, b = (lo, hi) if label == "sweep-up" else (hi, lo)
                args, fx = [rng.choice(["sine", "square"]), "%.1f:%.1f" % (a, b)], vol
            elif label == "hum":
                # mains hum: 50 or 60 Hz (or a harmonic), overdriven into its harmonics
                args = ["sine", str(rng.choice([50, 60]) * rng.randint(1, 3))]
                fx = ["overdrive", "%.0f" % rng.uniform(10, 40)] + vol
            else:  # clicks: a square wave gated by a fast tremolo
                args = ["square", "%.1f" % rng.uniform(800, 3000)]
                fx = vol + ["tremolo", "%.1f" % rng.uniform(4, 20), "100"]
            sounds.append((label, n, args, fx))
    for family, name in enumerate(FAMILIES):
        for program in range(family * 8, family * 8 + 8):
            events, slots = [], []
            count = (per_class + 7 - (program - family * 8)) // 8  # per_class over 8 programs
            for slot in range(count):
                t = int(slot * SLOT_SECONDS * TICKS_PER_SECOND)
                length = int(rng.uniform(0.3, 0.9) * TICKS_PER_SECOND)
                root = rng.randint(36, 84)
                chord = [0] if rng.random() < 0.5 else rng.choice([[0, 4, 7], [0, 3, 7],
                                                                   [0, 7], [0, 5, 9]])
                velocity = rng.randint(50, 120)
                for interval in chord:
                    events.append((t, (0x90, root + interval, velocity)))
                    events.append((t + length, (0x80, root + interval, 0)))
                slots.append(slot)
            music.append((name, program, events, slots))
    drum_events, drum_slots = [], []
    for slot in range(per_class):
        t0 = int(slot * SLOT_SECONDS * TICKS_PER_SECOND)
        for _ in range(rng.randint(2, 6)):
            t = t0 + int(rng.uniform(0, 0.8) * TICKS_PER_SECOND)
            note = rng.randint(35, 81)
            drum_events.append((t, (0x99, note, rng.randint(60, 120))))
            drum_events.append((t + 120, (0x89, note, 0)))
        drum_slots.append(slot)
    music.append(("drums", -1, drum_events, drum_slots))
    mixes = {}
    for label, n, *_ in speech + [(m[0], i) for m in music for i in range(len(m[3]))]:
        if rng.random() < 0.25:
            mixes[(label, n)] = (rng.choice(SOUNDS), rng.randrange(per_class),
                                 rng.uniform(5.0, 20.0))
    return speech, sounds, music, mixes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--per-class", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    for tool in ("espeak-ng", "sox", "fluidsynth"):
        if shutil.which(tool) is None:
            sys.exit("make_corpus: %s is missing (apt-get install %s)" % (tool, tool))
    if not os.path.exists(SOUNDFONT):
        sys.exit("make_corpus: %s is missing (apt-get install timgm6mb-soundfont)" % SOUNDFONT)
    if os.path.exists(args.out):
        sys.exit("make_corpus: %s exists; remove it first" % args.out)

    rng = random.Random(args.seed)
    speech, sounds, music, mixes = plan(rng, args.per_class)
    labels = WORDS + ["lang-" + l for l in LANGUAGES] + FAMILIES + ["drums"] + SOUNDS
    for label in labels:
        os.makedirs(os.path.join(args.out, label))

    def path(label, n):
        return os.path.join(args.out, label, "%04d.wav" % n)

    with Pool(args.jobs) as pool:
        print("sounds: %d clips" % len(sounds), flush=True)
        pool.map(synth, [(path(l, n), a, fx) for l, n, a, fx in sounds], chunksize=16)
        print("speech: %d clips" % len(speech), flush=True)
        pool.map(speak, [(path(l, n), v, s, p, t) for l, n, v, s, p, t in speech], chunksize=16)
        with tempfile.TemporaryDirectory() as tmp:
            jobs = []
            for name, program, events, slots in music:
                midi = os.path.join(tmp, "%s-%d.mid" % (name, program))
                head = [] if program < 0 else [(0, (0xC0, program))]
                write_midi(midi, head + events)
                jobs.append((midi, midi[:-4] + ".wav"))
            print("music: %d renderings" % len(jobs), flush=True)
            pool.map(render, jobs)
            counters = {}
            for (name, program, events, slots), (_, wav) in zip(music, jobs):
                samples = read_wav(wav)
                for slot in slots:
                    start = int(slot * SLOT_SECONDS * RATE)
                    n = counters.get(name, 0)
                    counters[name] = n + 1
                    write_wav(path(name, n), trim(samples[start:start + int(1.4 * RATE)]))

    print("mixtures: %d clips" % len(mixes), flush=True)
    for (label, n), (noise_label, noise_n, snr_db) in sorted(mixes.items()):
        fg = read_wav(path(label, n))
        bg = read_wav(path(noise_label, noise_n))
        if not fg:
            continue
        gain = rms(fg) / rms(bg[:len(fg)]) / (10 ** (snr_db / 20))
        mixed = [max(-32768, min(32767, int(round(f + gain * bg[i % len(bg)]))))
                 for i, f in enumerate(fg)]
        write_wav(path(label, n), mixed)
    total = sum(len(os.listdir(os.path.join(args.out, l))) for l in labels)
    print("done: %d clips in %d classes under %s" % (total, len(labels), args.out))


if __name__ == "__main__":
    main()
