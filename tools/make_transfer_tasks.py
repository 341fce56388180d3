#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the held-out transfer tasks that measure how well a backbone transfers.

    tools/make_transfer_tasks.py OUT_DIR [--seed S] [--tasks flite-keywords,wesnoth-sounds]

Each task is a folder OUT_DIR/<task>/ with 16 kHz mono 16-bit WAV clips of at most 1.0 s
(leading and trailing silence trimmed) and a manifest.csv (path,label,split,group) that
`astpeft train --data OUT_DIR/<task>/manifest.csv` reads. The splits are speaker- or
source-independent: no voice, and no recorded sound or its variants, is in both train and
validation. Both sources are kept out of the bundled backbone's pretraining corpus on purpose
(tools/make_corpus.py), so these tasks measure transfer to audio the backbone never heard
(tools/transfer.sh runs them; `BENCH=transfer bench/run.sh`).

  flite-keywords  the ten Speech Commands words yes no up down left right on off stop go (and
                  nothing else: no _unknown_ or background class), spoken by flite, a speech
                  engine the pretraining never used (nor festival, on which it is built).
                  Training voices: awb, rms and slt (flite's clustergen statistical voices);
                  validation voice: kal16, a diphone voice, i.e. a different synthesis method
                  as well as a different speaker: the hardest and truest test here. Per voice
                  and word, 5 duration stretches (0.8 to 1.3) x 3 pitches (int_f0_target_mean
                  around the voice's own register, -20 %, 0, +20 %), each jittered by the seed:
                  45 training and 15 validation clips per class.
  wesnoth-sounds  recorded game sounds of Battle for Wesnoth (wesnoth-1.16-data), coarse classes
                  from the file names: human-voice (human, elf and dwarf hits and deaths),
                  beast (wolf, bat, horse, gryphon, drake, ...), monster (orc, troll, ogre,
                  undead, ...), melee (sword, mace, axe, flail, fist, staff, bite, claws, ...),
                  ranged (bow, crossbow, sling, thunderstick, throwing knife, ...) and magic
                  (magic-*, lightning, fire, heal, ...). Files that fit no class (ambient loops,
                  horn signals, explosions, ...) are left out, as are classes with fewer than
                  15 files. Files longer than 1 s give up to 3 one-second windows. Split by
                  source: files are grouped by creature (vocal classes) or by their base name
                  with the trailing -N, -miss and size words removed (human-die-1 and -2 are
                  one group; mace.ogg, mace.wav and mace-miss.ogg are one), and whole groups,
                  shuffled by the seed, go to validation while it stays under 35 % of the
                  class's clips (about 70/30).

OUT_DIR/README.txt records the seed, the versions of flite, sox and wesnoth-1.16-data
(dpkg-query) and the class counts. Deterministic: flite is deterministic, sox runs with -R
(repeatable) and -D (no dither), trimming and windowing are numpy on 16-bit samples, and WAV
files are written by Python's wave module; the same seed gives byte-identical files.
Needs: flite, sox with Ogg Vorbis support (libsox-fmt-all or -vorbis), wesnoth-1.16-data.
Python standard library and numpy.
"""
import argparse
import csv
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

RATE = 16000
MAX_SECONDS = 1.0
WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
# Voice -> (split, mean pitch in Hz of its own register).
FLITE_VOICES = {"awb": ("train", 110), "rms": ("train", 105), "slt": ("train", 170),
                "kal16": ("validation", 105)}
STRETCHES = [0.8, 0.925, 1.05, 1.175, 1.3]
PITCH_FACTORS = [0.8, 1.0, 1.2]
WESNOTH_SOUNDS = "/usr/share/games/wesnoth/1.16/data/core/sounds"
MIN_FILES = 15
MAX_WINDOWS = 3
VAL_SHARE = 0.3

# Wesnoth creatures whose hit/die/growl/shriek sounds make a vocal class.
HUMAN_VOICES = {"human", "human-female", "human-old", "elf", "dwarf"}
BEASTS = {"wolf", "bat", "horse", "gryphon", "drake", "tusker", "hiss"}
MONSTERS = {"orc", "goblin", "ogre", "troll", "naga", "mermaid", "mermen", "yeti", "wose",
            "lich", "skeleton", "zombie", "ghoul", "groan", "ugg", "wail"}
MELEE = {"axe", "bite", "claws", "club", "fist", "flail", "knife", "mace", "staff", "sword",
         "tail", "pincers", "spear", "hatchet", "dagger-swish", "mud-fist", "torch", "miss",
         "squishy"}
RANGED = {"bow", "crossbow", "sling", "thunderstick", "dragonstick", "throwing-knife", "throw",
          "dart", "gunshot", "net"}
MAGIC = {"magic-dark", "magic-faeriefire", "magic-holy", "magic-missile", "magic-thorns",
         "lightning", "flame", "fire", "melee-fire", "heal", "entangle", "slowed", "petrified",
         "poison", "water-blast"}
VOCAL = re.compile(r"^(?P<creature>.+?)-(hit|die|growl|shriek|laugh)(-\d+)?$")


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def decode(path, tmp):
    """The file as 16 kHz mono int16 samples, decoded and resampled by sox."""
    out = os.path.join(tmp, "decoded.wav")
    run(["sox", "-R", "-D", "-V1", path, "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed",
         out])
    with wave.open(out, "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int32)


def trim(x, floor_db=-40.0, margin_s=0.02):
    """Drops leading and trailing silence: 10 ms frames whose RMS is more than -floor_db below
    the loudest frame's, keeping a small margin. Returns an empty array for a silent clip."""
    frame = RATE // 100
    n = len(x) // frame
    if n == 0:
        return x[:0]
    rms = np.sqrt((x[: n * frame].reshape(n, frame).astype(np.float64) ** 2).mean(axis=1))
    peak = rms.max()
    if peak < 30.0:  # about -60 dBFS: nothing there
        return x[:0]
    loud = np.nonzero(rms >= peak * 10.0 ** (floor_db / 20.0))[0]
    margin = int(margin_s * RATE)
    start = max(0, loud[0] * frame - margin)
    end = min(len(x), (loud[-1] + 1) * frame + margin)
    return x[start:end]


def write_wav(path, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.clip(x, -32768, 32767).astype("<i2").tobytes())


def make_flite_keywords(out, rng, tmp):
    """Task a: flite's voices speak the ten words; see the module docstring."""
    rows = []
    truncated = 0
    for voice, (split, pitch) in FLITE_VOICES.items():
        for word in WORDS:
            i = 0
            for stretch in STRETCHES:
                for factor in PITCH_FACTORS:
                    s = stretch * rng.uniform(0.97, 1.03)
                    f0 = pitch * factor * rng.uniform(0.95, 1.05)
                    raw = os.path.join(tmp, "flite.wav")
                    run(["flite", "-voice", voice, "--setf", f"duration_stretch={s:.3f}",
                         "--setf", f"int_f0_target_mean={f0:.1f}", "-t", word, "-o", raw])
                    x = trim(decode(raw, tmp))
                    if len(x) > MAX_SECONDS * RATE:
                        truncated += 1
                        x = trim(x[: int(MAX_SECONDS * RATE)])
                    if len(x) == 0:
                        continue
                    rel = f"audio/{word}/{voice}-{i:02d}.wav"
                    write_wav(os.path.join(out, rel), x)
                    rows.append((rel, word, split, voice))
                    i += 1
    return rows, {"truncated to 1 s": truncated}


def wesnoth_class(stem):
    """(class, group) of a Wesnoth sound file's stem (path below sounds/ without extension),
    or None for a file that fits no class."""
    name = stem.split("/")[-1]
    if "/" in stem:  # ambient/, horn-signals/: loops and signals
        return (stem.split("/")[0], stem.split("/")[0])
    m = VOCAL.match(name)
    if m:
        creature = m.group("creature")
        base = re.sub(r"-(small|big)$", "", creature)
        for label, members in (("human-voice", HUMAN_VOICES), ("beast", BEASTS),
                               ("monster", MONSTERS)):
            if creature in members or base in members:
                return (label, base)
    # The base name: no trailing -N, -miss or size/strength word (bow-puny-fire-miss -> bow).
    base = name.replace("magicmissile", "magic-missile")
    previous = None
    while previous != base:
        previous = base
        base = re.sub(r"-(\d+|miss|hit|big|small|puny|fire|strike|swish|sml|long)$", "", base)
    if base == "dagger":
        base = "dagger-swish"
    for label, members in (("monster", MONSTERS), ("beast", BEASTS), ("melee", MELEE),
                           ("ranged", RANGED), ("magic", MAGIC)):
        if base in members:
            return (label, base)
    if name == "melee-fire":
        return ("magic", "melee-fire")
    return None


def windows(x):
    """Up to MAX_WINDOWS one-second windows of a trimmed clip, each trimmed again; windows after
    the first must keep at least 0.3 s of sound."""
    out = []
    step = int(MAX_SECONDS * RATE)
    for k in range(MAX_WINDOWS):
        w = trim(x[k * step: (k + 1) * step])
        if len(w) == 0 or (k > 0 and len(w) < 0.3 * RATE):
            break
        out.append(w)
    return out


def make_wesnoth_sounds(out, rng, tmp, source=WESNOTH_SOUNDS):
    """Task b: Wesnoth's recorded sounds in coarse classes; see the module docstring."""
    files = []
    for dirpath, _, names in os.walk(source):
        for n in names:
            if n.endswith((".ogg", ".wav")):
                files.append(os.path.relpath(os.path.join(dirpath, n), source))
    files.sort()
    by_class = {}
    skipped = []
    for rel in files:
        stem = os.path.splitext(rel)[0]
        c = wesnoth_class(stem)
        if c is None:
            skipped.append(rel)
            continue
        by_class.setdefault(c[0], []).append((rel, c[1]))
    dropped = {c: len(v) for c, v in by_class.items() if len(v) < MIN_FILES}
    rows = []
    stats = {}
    for label in sorted(c for c in by_class if c not in dropped):
        clips = {}  # group -> [(rel, samples)]
        for rel, group in by_class[label]:
            x = trim(decode(os.path.join(source, rel), tmp))
            for k, w in enumerate(windows(x)):
                clips.setdefault(group, []).append((rel, k, w))
        groups = sorted(clips)
        rng.shuffle(groups)
        total = sum(len(clips[g]) for g in groups)
        val, val_n = set(), 0
        for g in groups:  # fill validation up to VAL_SHARE (+5 %) with whole groups
            if val_n + len(clips[g]) <= (VAL_SHARE + 0.05) * total and len(val) < len(groups) - 1:
                val.add(g)
                val_n += len(clips[g])
        if not val:  # every group is large: the first one
            val.add(groups[0])
            val_n = len(clips[groups[0]])
        for g in sorted(clips):
            split = "validation" if g in val else "train"
            for rel, k, w in clips[g]:
                name = os.path.splitext(rel)[0].replace("/", "_")
                path = f"audio/{label}/{name}-{os.path.splitext(rel)[1][1:]}-w{k}.wav"
                write_wav(os.path.join(out, path), w)
                rows.append((path, label, split, g))
        stats[label] = {"files": len(by_class[label]), "groups": len(groups),
                        "train": total - val_n, "validation": val_n,
                        "validation groups": sorted(val)}
    return rows, {"classes": stats, "dropped classes (files)": dropped,
                  "files in no class": skipped}


def write_manifest(out, rows):
    with open(os.path.join(out, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "label", "split", "group"])
        w.writerows(rows)


def counts(rows):
    table = {}
    for _, label, split, _ in rows:
        table.setdefault(label, {"train": 0, "validation": 0})[split] += 1
    return table


def versions():
    lines = []
    for pkg in ("flite", "sox", "wesnoth-1.16-data"):
        try:
            v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], check=True,
                               capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            v = "not installed (dpkg-query)"
        lines.append(f"  {pkg} {v}")
    return lines


TASKS = {"flite-keywords": make_flite_keywords, "wesnoth-sounds": make_wesnoth_sounds}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--tasks", default=",".join(TASKS),
                    help="comma-separated: " + ", ".join(TASKS))
    a = ap.parse_args()
    for tool in ("flite", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"make_transfer_tasks.py: {tool} is not installed")
    os.makedirs(a.out, exist_ok=True)
    report = io.StringIO()
    report.write("Transfer tasks made by tools/make_transfer_tasks.py "
                 f"--seed {a.seed} (16 kHz mono 16-bit WAV, at most 1.0 s a clip)\n"
                 "Package versions (dpkg-query):\n" + "\n".join(versions()) + "\n")
    for task in a.tasks.split(","):
        if task not in TASKS:
            sys.exit(f"make_transfer_tasks.py: unknown task {task} (known: {', '.join(TASKS)})")
        dest = os.path.join(a.out, task)
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        # Each task draws from its own generator, so that one task's output does not depend
        # on which others are made.
        rng = random.Random(f"{a.seed}:{task}")
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            rows, notes = TASKS[task](dest, rng, tmp)
        write_manifest(dest, rows)
        table = counts(rows)
        text = io.StringIO()
        text.write(f"\n{task}: {len(table)} classes, {len(rows)} clips "
                   f"({sum(r[2] == 'train' for r in rows)} train, "
                   f"{sum(r[2] == 'validation' for r in rows)} validation)\n")
        text.write(f"  {'class':<14} {'train':>6} {'validation':>11}\n")
        for label in sorted(table):
            text.write(f"  {label:<14} {table[label]['train']:>6} "
                       f"{table[label]['validation']:>11}\n")
        for key, value in notes.items():
            if key == "classes":
                for label, s in value.items():
                    text.write(f"  {label}: {s['files']} files in {s['groups']} groups; "
                               f"validation groups: {' '.join(s['validation groups'])}\n")
            elif isinstance(value, list):
                text.write(f"  {key}: {len(value)} ({' '.join(value)})\n")
            else:
                text.write(f"  {key}: {value}\n")
        sys.stdout.write(text.getvalue())
        print(f"  made in {time.monotonic() - start:.1f} s", flush=True)
        report.write(text.getvalue())
    with open(os.path.join(a.out, "README.txt"), "w") as f:
        f.write(report.getvalue())


if __name__ == "__main__":
    main()
