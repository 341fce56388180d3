#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Builds the pretraining corpus of the bundled backbone from Debian packages only.

    tools/make_corpus.py OUT_DIR [--per-class N] [--words N] [--seed S] [--jobs J]

OUT_DIR/<class>/<n>.wav, 16 kHz mono 16-bit, 1.0 s or less, one folder per class (the
folder-per-class layout `astpeft train` reads), and OUT_DIR/SOURCES.md: every class with its
clip count, and every source package with its version and licence. --per-class clips per class
(48), in five groups:

  words      --words English words (200, from WORDS) read by espeak-ng (about 90 voice
             variants x 8 English accents, and now and then a German, French, Spanish, Italian,
             Dutch or Polish voice reading the English word) and by classic espeak (1.48, another
             engine generation), at 90-280 words a minute and pitch 5-95.
  phrases    "hw-<phrase>": the short exclamations of Hedgewars' recorded voice packs
             (hedgewars-data: 10 English-speaking actors; "Amazing", "Incoming", "Oops", ...),
             one class per phrase said by at least 8 of them: real human voices.
  languages  "lang-<xx>": speech in 10 languages; espeak-ng pseudo-words in the language's voice,
             plus, for es, pl, ru and uk, Hedgewars' recorded packs in that language.
  sounds     recorded game and desktop sounds, by file and folder name, in coarse classes
             (gunfire, explosion, footsteps, water, engine, beeps, ambience, creature and human
             non-speech vocalisations, recorded speech, recorded music): hedgewars-data,
             openarena-data, warzone2100-data, extremetuxracer-data, frozen-bubble-data,
             pingus-data, sound-theme-freedesktop; and synthetic ones made by sox (noises, tones,
             sweeps, hum, clicks) and FluidSynth (16 General MIDI instrument families, drums).
  conditions every clip passes through a random recording condition: speed perturbation
             (0.9-1.1, half the clips), a start offset (0-40 ms), gain (-12..0 dB), a room (a
             quarter: synthetic impulse response, RT60 0.15-0.6 s, direct-to-reverberant
             3-15 dB), a channel (a fifth: telephone 300-3400 Hz or laptop microphone), noise
             (a third: white, pink, brown or a recorded ambience, at 10-30 dB SNR for speech,
             5-30 dB for other sounds) and always a microphone noise floor 40-60 dB below the
             clip: no clip has digital silence.

Held out on purpose, so that transfer can be measured on audio the backbone never heard
(tools/make_transfer_tasks.py, tools/transfer.sh): the flite and festival speech engines and
their CMU voices; the recorded sounds of wesnoth-1.16-data; the demo's ten words (yes, no, up,
down, left, right, on, off, stop, go) and the espeak-ng variants f3, f4, m5, m6 and the accent
en-gb-scotland, which the demo (tools/make_demo.sh) uses.

Deterministic: every random choice is drawn up front from one seeded generator (each clip's
noise from its own seeded generator), sox runs with -R -D, and espeak, espeak-ng and FluidSynth
are deterministic, so the same seed and package versions give byte-identical files.
Needs espeak-ng, espeak, sox, libsox-fmt-all, fluidsynth, timgm6mb-soundfont, python3-numpy and
the game data packages above (tools/make_backbone.sh installs them).
"""
import argparse
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
import zipfile
from multiprocessing import Pool
import random

import numpy as np

RATE = 16000
MAX_SAMPLES = RATE  # 1.0 s
SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"

HELD_OUT_WORDS = {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "know"}
WORDS = """zero one two three four five six seven eight nine ten eleven twelve twenty hundred
thousand bed bird cat dog happy house marvin sheila tree wow forward backward follow learn visual
apple water music window yellow red green blue black white orange purple brown pink grey
morning evening night today tomorrow yesterday monday friday sunday summer winter spring autumn
open close begin finish start pause play record listen again next previous faster slower louder
quiet volume light dark kitchen garden office bedroom door table chair sofa phone computer
camera picture letter paper pencil bottle coffee dinner lunch breakfast bread butter cheese
chicken potato tomato banana cherry lemon sugar salt pepper honey rabbit horse mouse tiger
monkey zebra dolphin turtle spider eagle pilot doctor teacher farmer driver sister brother
mother father baby family friend people person number letter river ocean mountain forest desert
island valley bridge street city village country planet rocket engine machine battery signal
silver golden metal plastic wooden stone glass cotton travel holiday ticket station airport
museum hotel market money pocket basket bucket jacket button pillow blanket ladder hammer
shovel bicycle tractor trumpet guitar violin piano drum whistle thunder lightning rainbow
weather sunshine shadow circle square triangle seventy eighty ninety dozen minute second hour
quarter half double single simple problem answer question reason matter moment system energy
memory history science nature animal garden""".split()
ACCENTS = ["en", "en-us", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-gb"]
FOREIGN_READERS = ["de", "fr", "es", "it", "nl", "pl"]
ESPEAK_HELD_OUT = {"f3", "f4", "m5", "m6"}
CLASSIC_ACCENTS = ["en", "en-us", "en-uk-north", "en-uk-rp", "en-uk-wmids"]
CLASSIC_VARIANTS = ["", "croak", "f1", "f2", "f5", "klatt", "klatt2", "klatt3", "m1", "m2", "m3",
                    "m4", "m7", "whisper"]
LANGUAGES = ["de", "fr", "es", "it", "pl", "nl", "sv", "hu", "ru", "uk"]
HEDGEWARS = "/usr/share/games/hedgewars/Data/Sounds"
HW_ENGLISH = ["British", "Classic", "Default", "HillBilly", "Mobster", "Pirate", "Robot", "Russian",
              "Singer", "Surfer"]
HW_LANGUAGE = {"Default_es": "es", "Default_pl": "pl", "Russian_pl": "pl", "Default_ru": "ru",
               "Default_uk": "uk"}
FAMILIES = ["piano", "chromatic-percussion", "organ", "guitar", "bass", "strings", "ensemble",
            "brass", "reed", "pipe", "synth-lead", "synth-pad", "synth-effects", "ethnic",
            "percussive", "sound-effects"]
SYNTH = ["noise-white", "noise-pink", "noise-brown", "tone", "sweep-up", "sweep-down", "hum",
         "clicks"]

# Recorded sounds: (archive or folder, member filter). Wesnoth's are held out.
RECORDED = [
    ("/usr/share/games/openarena/baseoa/pak0.pk3", "sound/"),
    ("/usr/share/games/openarena/baseoa/pak2-players.pk3", "sound/"),
    ("/usr/share/games/openarena/baseoa/pak6-misc.pk3", "sound/"),
    ("/usr/share/games/warzone2100/base.wz", "audio/"),
    (HEDGEWARS, ""),
    ("/usr/share/games/etr", ""),
    ("/usr/share/games/frozen-bubble", ""),
    ("/usr/share/games/pingus", ""),
    ("/usr/share/sounds/freedesktop", ""),
]
PACKAGES = ["espeak-ng", "espeak", "sox", "fluidsynth", "timgm6mb-soundfont", "hedgewars-data",
            "openarena-data", "warzone2100-data", "extremetuxracer-data", "frozen-bubble-data",
            "pingus-data", "sound-theme-freedesktop"]
# First match wins; names are lower-cased paths. None: not used.
SOUND_RULES = [
    (r"hedgewars/data/sounds/voices/", None),  # the phrase and language classes
    (r"music|zik|ride_of_the|-(jt|ks|cp)\.ogg|credits|options1|hogchant|newroot|freezingpoint",
     "music-recorded"),
    (r"memressp|tutorial|countdown/|vtoltalk|/extra/|taunt|feedback/(?!hit)|teamplay/voc|"
     r"letsgo|yipee|ohno|goodidea|audio-channel|hurry|/noh\.", "speech-recorded"),
    (r"footstep|steps|_slide|/bump", "footsteps"),
    (r"player/|hell_|growl|moan|snore|scream|pain|death|gasp|jump\d|drown|fall|laugh|yoohoo|kiss",
     "vocalisation"),
    (r"expl|grenade|mortar|mine|impact|bomb|boom|rocklx|molotov|destroy|cake|melon", "explosion"),
    (r"gun|machg|vulcan|sshot|railg|sniper|rockf|rocklf|plasma|bfg|lasfly|hyprbf|lg_fire|"
     r"sfx/weapons|fire\b|shot|laser|cannon|flamethrower|blowtorch|drill", "gunfire"),
    (r"water|splash|drop|blubber|bubble|plop", "water"),
    (r"plane|ufo|jetpack|/fan|machin|drone|pump|vehicle|engine|digger|tardis|hum\.|motor|"
     r"lift|plats|doors|rope|pickhammer|steam", "machine"),
    (r"wind|firesoft|fire\d|lava|ambien|rumble|curnt|thunder|portal|warp|telein|teleout|suck",
     "ambience"),
    (r"menu|beep|butn|click|tick|ting|chink|pkup|pickup|bell|message|dialog|complete|service|"
     r"device|shutter|chatted|cancel|typewriter|pause|volume|alarm|phone|trash|placed|switch|"
     r"collect|skip|denied|change|noammo|holdable|items/", "beeps"),
]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, **kw)


def decode(data_or_path, suffix):
    """Any audio sox reads, as float32 mono at 16 kHz in [-1, 1]."""
    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        if isinstance(data_or_path, bytes):
            f.write(data_or_path)
            f.flush()
            path = f.name
        else:
            path = data_or_path
        out = run(["sox", "-R", "-D", "-V1", path, "-t", "raw", "-e", "signed", "-b", "16", "-c",
                   "1", "-r", str(RATE), "-"]).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768.0


def write_wav(path, x):
    data = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())
    os.replace(tmp, path)


def trim(x, threshold=0.006):
    """Leading and trailing samples below `threshold` dropped."""
    loud = np.flatnonzero(np.abs(x) >= threshold)
    return x[loud[0]:loud[-1] + 1] if len(loud) else x[:0]


def pink(rng, n, exponent):
    """Noise with power ~ 1/f^exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return (x / (np.sqrt(np.mean(x * x)) + 1e-12)).astype(np.float32)


def band(x, lo, hi):
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1.0 / RATE)
    spectrum[(f < lo) | (f > hi)] = 0
    return np.fft.irfft(spectrum, len(x)).astype(np.float32)


def condition(x, c, ambience):
    """Applies one recording condition `c` (drawn in plan()) to the clip `x`."""
    rng = np.random.default_rng(c["seed"])
    if c["speed"] != 1.0 and len(x) > 1:  # resampling: tempo and pitch together, as Kaldi's
        n = max(1, int(len(x) / c["speed"]))
        x = np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)
    x = x[:MAX_SAMPLES - c["offset"]]
    x = np.concatenate([np.zeros(c["offset"], np.float32), x])
    if c["rt60"] > 0:
        # A synthetic room: the direct path, then an exponentially decaying noise tail whose
        # energy is drr_db below it (direct-to-reverberant ratio).
        n = int(c["rt60"] * RATE)
        tail = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / RATE / c["rt60"])
        tail *= 10 ** (-c["drr_db"] / 20) / (np.sqrt(np.sum(tail * tail)) + 1e-12)
        ir = np.concatenate([[1.0], tail]).astype(np.float32)
        size = 1 << int(np.ceil(np.log2(len(x) + len(ir))))
        x = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[:len(x)]
        x = x.astype(np.float32)
    if c["channel"] == "phone":
        x = band(x, 300, 3400)
    elif c["channel"] == "laptop":
        x = band(x, 150, 6500)
    peak = np.max(np.abs(x)) if len(x) else 0
    if peak > 0:
        x = x / peak * 10 ** (c["gain_db"] / 20)
    level = np.sqrt(np.mean(x * x)) if peak > 0 else 0.003
    if c["noise"]:
        if c["noise"] == "ambience" and len(ambience):
            start = int(c["noise_at"] * max(1, len(ambience) - len(x)))
            n = ambience[start:start + len(x)]
            n = np.resize(n, len(x)) / (np.sqrt(np.mean(n * n)) + 1e-9)
        else:
            n = pink(rng, len(x), {"white": 0, "pink": 1, "brown": 2, "ambience": 1}[c["noise"]])
        x = x + level / 10 ** (c["snr_db"] / 20) * n
    # A microphone's own noise floor, so that no clip has digital silence: a real recording
    # never does, and log-mel features of exact zeros are an artefact a model could learn.
    x = x + level / 10 ** (c["floor_db"] / 20) * rng.standard_normal(len(x)).astype(np.float32)
    return np.clip(x, -1.0, 1.0)


def draw_condition(rng, speech):
    """One random recording condition; speech gets less extreme noise. About 40 % of clips get
    no room, channel or noise (only speed, offset, gain and the noise floor)."""
    return {
        "seed": rng.randrange(2 ** 32),
        "speed": round(rng.uniform(0.9, 1.1), 3) if rng.random() < 0.5 else 1.0,
        "offset": int(rng.uniform(0, 0.04) * RATE),
        "rt60": round(rng.uniform(0.15, 0.6), 3) if rng.random() < 0.25 else 0.0,
        "drr_db": round(rng.uniform(3, 15), 1),
        "channel": rng.choice(["phone", "laptop"]) if rng.random() < 0.2 else "",
        "gain_db": round(rng.uniform(-12, 0), 1),
        "noise": (rng.choice(["white", "pink", "brown", "ambience"]) if rng.random() < 0.35
                  else ""),
        "snr_db": round(rng.uniform(10 if speech else 5, 30), 1),
        "noise_at": rng.random(),
        "floor_db": round(rng.uniform(40, 60), 1),
    }


def espeak_ng_variants():
    """The voice variants (voices/!v) espeak-ng has, without the demo's."""
    version = run(["espeak-ng", "--version"]).stdout.decode()
    data = re.search(r"Data at: (\S+)", version).group(1)
    names = sorted(os.listdir(os.path.join(data, "voices", "!v")))
    return [v for v in names if v not in ESPEAK_HELD_OUT and " " not in v]


def speak(job):
    """job: (engine, voice, speed, pitch, text) -> float32 samples, trimmed."""
    engine, voice, speed, pitch, text = job
    wav = run([engine, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text]).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    n = int(len(x) * RATE / rate)
    x = np.interp(np.arange(n) * rate / RATE, np.arange(len(x)), x).astype(np.float32)
    return trim(x)


def recorded_sources():
    """(label, source name, loader) for every recorded sound file by SOUND_RULES, and the
    Hedgewars voice files as (phrase or language label)."""
    out = []
    rules = [(re.compile(p), label) for p, label in SOUND_RULES]
    for where, prefix in RECORDED:
        if zipfile.is_zipfile(where):
            with zipfile.ZipFile(where) as z:
                members = sorted(n for n in z.namelist() if n.startswith(prefix)
                                 and n.lower().endswith((".ogg", ".wav")))
            names = [(where + "!" + m, m) for m in members]
        else:
            names = []
            for folder, _, files in sorted(os.walk(where)):
                for f in sorted(files):
                    if f.lower().endswith((".ogg", ".oga", ".wav", ".flac")):
                        names.append((os.path.join(folder, f), os.path.join(folder, f)))
        for source, name in names:
            key = (where + "/" + name).lower()
            label = next((label for rx, label in rules if rx.search(key)), None)
            if label:
                out.append((label, source))
    return out


def hedgewars_voices():
    """(label, file): phrase classes from the English packs, language classes from the others."""
    base = os.path.join(HEDGEWARS, "voices")
    phrases = {}
    out = []
    for pack in sorted(os.listdir(base)):
        for f in sorted(os.listdir(os.path.join(base, pack))):
            phrase = re.sub(r"\d+$", "", os.path.splitext(f)[0]).lower().replace("-", "")
            if pack in HW_ENGLISH:
                phrases.setdefault(phrase, set()).add(pack)
                out.append(("hw-" + phrase, os.path.join(base, pack, f), pack))
            elif pack in HW_LANGUAGE:
                out.append(("lang-" + HW_LANGUAGE[pack], os.path.join(base, pack, f), pack))
    keep = {"hw-" + p for p, packs in phrases.items()
            if len(packs) >= 8 and p not in HELD_OUT_WORDS}
    return [(label, path) for label, path, _ in out if label in keep or label.startswith("lang-")]


def load_source(source):
    if "!" in source:
        archive, member = source.split("!", 1)
        with zipfile.ZipFile(archive) as z:
            return decode(z.read(member), os.path.splitext(member)[1])
    return decode(source, os.path.splitext(source)[1])


def windows(x, count):
    """Up to `count` 1 s windows of a recording, from its start, hopping 0.5 s."""
    x = trim(x, 0.003)
    starts = list(range(0, max(1, len(x) - MAX_SAMPLES // 2), RATE // 2))[:count] or [0]
    return [x[s:s + MAX_SAMPLES] for s in starts]


def synth_clip(args):
    out = run(["sox", "-R", "-D", "-V1", "-n", "-r", str(RATE), "-c", "1", "-b", "16", "-t", "raw",
               "-e", "signed", "-", "synth", "1"] + args).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768.0


def synth_args(rng, label):
    vol = ["vol", "%.3f" % rng.uniform(0.05, 0.6)]
    f = rng.uniform(80, 4000)
    if label.startswith("noise-"):
        return [label[6:] + "noise"] + vol
    if label == "tone":
        return ([rng.choice(["sine", "square", "triangle"]), "%.1f" % f] + vol
                + (["tremolo", "%.1f" % rng.uniform(2, 12), "60"] if rng.random() < 0.5 else []))
    if label in ("sweep-up", "sweep-down"):
        lo, hi = rng.uniform(80, 800), rng.uniform(1500, 7000)
        a, b = (lo, hi) if label == "sweep-up" else (hi, lo)
        return [rng.choice(["sine", "square"]), "%.1f:%.1f" % (a, b)] + vol
    if label == "hum":
        return (["sine", str(rng.choice([50, 60]) * rng.randint(1, 3)), "overdrive",
                 "%.0f" % rng.uniform(10, 40)] + vol)
    return ["square", "%.1f" % rng.uniform(800, 3000)] + vol + [
        "tremolo", "%.1f" % rng.uniform(4, 20), "100"]


def midi_file(events):
    def vlq(n):
        out = [n & 0x7F]
        n >>= 7
        while n:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        return bytes(reversed(out))
    track, last = b"", 0
    for tick, data in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80)):
        track += vlq(tick - last) + bytes(data)
        last = tick
    track += b"\x00\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(track))
            + track)


def render_music(job):
    """job: (program or -1 for drums, [(root, chord, length s, velocity)]) -> list of clips."""
    program, notes = job
    ticks = 960  # per second: 480 per beat at 120 bpm
    events = [] if program < 0 else [(0, (0xC0, program))]
    channel = 9 if program < 0 else 0
    for slot, (root, chord, length, velocity) in enumerate(notes):
        t = int(slot * 1.5 * ticks)
        for interval in chord:
            events.append((t, (0x90 | channel, root + interval, velocity)))
            events.append((t + int(length * ticks), (0x80 | channel, root + interval, 0)))
    with tempfile.TemporaryDirectory() as tmp:
        midi, wav = os.path.join(tmp, "x.mid"), os.path.join(tmp, "x.wav")
        with open(midi, "wb") as f:
            f.write(midi_file(events))
        run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(RATE), "-F", wav, SOUNDFONT, midi])
        x = decode(wav, ".wav")
    return [x[int(s * 1.5 * RATE):int(s * 1.5 * RATE) + int(1.4 * RATE)]
            for s in range(len(notes))]


def make_clip(job):
    """job: (path, sound: float32 array, condition, ambience index) -> writes the clip."""
    path, x, c = job
    write_wav(path, condition(x, c, AMBIENCE))
    return path


AMBIENCE = np.zeros(0, np.float32)


def init_worker(ambience):
    global AMBIENCE
    AMBIENCE = ambience


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--per-class", type=int, default=48)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    for tool in ("espeak-ng", "espeak", "sox", "fluidsynth"):
        if shutil.which(tool) is None:
            sys.exit("make_corpus: %s is missing (apt-get install %s)" % (tool, tool))
    if os.path.exists(args.out):
        sys.exit("make_corpus: %s exists; remove it first" % args.out)
    words = [w for w in dict.fromkeys(WORDS) if w not in HELD_OUT_WORDS][:args.words]
    rng = random.Random(args.seed)
    per = args.per_class
    ng_variants, classic_variants = espeak_ng_variants(), CLASSIC_VARIANTS

    # 1. Plan the speech: (label, engine, voice, speed, pitch, text).
    speech = []
    for word in words:
        for _ in range(per):
            r = rng.random()
            if r < 0.2:
                v = rng.choice(classic_variants)
                voice, engine = rng.choice(CLASSIC_ACCENTS) + ("+" + v if v else ""), "espeak"
            else:
                accent = rng.choice(FOREIGN_READERS) if r < 0.3 else rng.choice(ACCENTS)
                voice, engine = accent + "+" + rng.choice(ng_variants), "espeak-ng"
            speech.append(("w-" + word, engine, voice, rng.randint(90, 280), rng.randint(5, 95),
                           word))
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    for lang in LANGUAGES:
        for _ in range(per // 2):
            text = " ".join("".join(rng.choice(consonants) + rng.choice(vowels)
                                    + (rng.choice(consonants) if rng.random() < 0.4 else "")
                                    for _ in range(rng.randint(2, 4)))
                            for _ in range(rng.randint(1, 3)))
            voice = lang + "+" + rng.choice(ng_variants)
            speech.append(("lang-" + lang, "espeak-ng", voice, rng.randint(110, 230),
                           rng.randint(15, 85), text))
    synth = [(label, synth_args(rng, label)) for label in SYNTH for _ in range(per // 2)]
    music = []
    for family in range(len(FAMILIES)):
        for k in range(4):
            notes = [(rng.randint(36, 84), [0] if rng.random() < 0.5 else rng.choice(
                [[0, 4, 7], [0, 3, 7], [0, 7], [0, 5, 9]]), rng.uniform(0.3, 0.9),
                rng.randint(50, 120)) for _ in range((per + 3) // 4)]
            music.append((FAMILIES[family], family * 8 + 2 * k, notes))
    music.append(("drums", -1, [(rng.randint(35, 81), [0, rng.randint(-6, 6)],
                                 0.1, rng.randint(60, 120)) for _ in range(per)]))

    with Pool(args.jobs) as pool:
        # 2. Sources: speech, recorded, synthesised, rendered; each a list per label.
        sources = {}
        print("speech: %d utterances" % len(speech), flush=True)
        for (label, *_), x in zip(speech, pool.map(speak, [s[1:] for s in speech], 32)):
            if len(x):
                sources.setdefault(label, []).append(x[:MAX_SAMPLES])
        recorded = recorded_sources() + [(label, path) for label, path in hedgewars_voices()]
        print("recordings: %d files" % len(recorded), flush=True)
        loaded = pool.map(load_source, [s for _, s in recorded], 8)
        ambience = np.concatenate([x for (label, _), x in zip(recorded, loaded)
                                   if label == "ambience"] or [np.zeros(RATE, np.float32)])
        for (label, _), x in zip(recorded, loaded):
            speechy = label.startswith(("hw-", "lang-"))
            for w in windows(x, 1 if speechy else 4):
                if np.max(np.abs(w), initial=0) > 0.003:
                    sources.setdefault(label, []).append(w)
        for (label, _), x in zip(synth, pool.map(synth_clip, [a for _, a in synth])):
            sources.setdefault(label, []).append(x)
        print("music: %d renderings" % len(music), flush=True)
        for (label, *_), clips in zip(music, pool.map(render_music, [m[1:] for m in music])):
            sources.setdefault(label, []).extend(trim(c)[:MAX_SAMPLES] for c in clips if len(c))

        # 3. Each class: `per` clips, cycling through its sources (shuffled), each under its own
        # condition. Classes with fewer than 4 distinct sources are dropped.
        labels = sorted(label for label, xs in sources.items() if len(xs) >= 4)
        jobs = []
        for label in labels:
            xs = sources[label]
            order = list(range(len(xs)))
            rng.shuffle(order)
            os.makedirs(os.path.join(args.out, label))
            speechy = label.startswith(("w-", "hw-", "lang-"))
            for n in range(per):
                jobs.append((os.path.join(args.out, label, "%04d.wav" % n),
                             xs[order[n % len(order)]], draw_condition(rng, speechy)))
        print("conditions: %d clips in %d classes" % (len(jobs), len(labels)), flush=True)
    with Pool(args.jobs, initializer=init_worker, initargs=(ambience,)) as pool:
        pool.map(make_clip, jobs, 64)
    write_sources(args.out, labels, sources, per)


def write_sources(out, labels, sources, per):
    versions = {}
    for p in PACKAGES:
        q = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        versions[p] = q.stdout or "not installed"
    groups = {}
    for label in labels:
        g = label.split("-")[0] if label.startswith(("w-", "hw-", "lang-")) else "sounds"
        groups.setdefault(g, []).append(label)
    lines = ["# Corpus", "", "%d classes x %d clips = %d clips" % (len(labels), per,
                                                                    len(labels) * per), ""]
    for g, ls in groups.items():
        lines.append("- %s (%d): %s" % (g, len(ls), ", ".join(
            "%s [%d sources]" % (label, len(sources[label])) for label in ls)))
    lines += ["", "## Packages", ""] + ["- %s %s" % (p, v) for p, v in versions.items()]
    with open(os.path.join(out, "SOURCES.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
