// SPDX-License-Identifier: MIT
// A studio project: a folder holding project.json (classes, clips with labels, splits and
// non-destructive trims, the method and training settings, the run list), recordings/ (clips
// recorded in the studio, recordings/<label>/<label>_NNN.wav), runs/ (one folder per training
// run) and cache/ (what training reads: manifest.csv and rendered trims; safe to delete).
// Torch-free (ui/ and app/ include it).
//
// Paths inside the project folder are stored relative to it, so a project survives being moved
// or copied; paths outside it (an imported dataset left where it was) are stored absolute.
// project.json is replaced atomically: a failed save (full disk, read-only folder) leaves the
// previous file intact.
#pragma once

#include "data/dataset.h"
#include "peft/peft_config.h"
#include "train/trainer.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace astpeft::core {

struct ProjectFiles
{
    static constexpr const char *project = "project.json";
    static constexpr const char *recordings = "recordings";
    static constexpr const char *runs = "runs";
    static constexpr const char *cache = "cache";
    static constexpr const char *manifest = "cache/manifest.csv";
    static constexpr const char *trimmed = "cache/trimmed";
};

// The project.json version this build writes and reads; loadProject() refuses newer ones.
inline constexpr int kProjectVersion = 1;

struct ProjectClip
{
    std::uint64_t id = 0; // stable within the project (undo commands refer to it); never 0
    std::filesystem::path file {}; // relative to the project folder when inside it, else absolute
    std::string label {}; // one of Project::classes
    Split split = Split::Unassigned; // Unassigned: the trainer's seeded split decides
    int fold = 0;
    std::string group {};
    // Seconds into the file; trimEnd 0 = to the end. Non-destructive: the file is never changed,
    // training reads a rendered copy (writeTrainingManifest).
    double trimStart = 0.0, trimEnd = 0.0;
    double seconds = 0.0; // of the whole file, from probing (0 = unknown)
    int sampleRate = 0; // native, from probing
    int channels = 0;
    bool recorded = false; // made in the studio (lives in recordings/)

    bool operator==(const ProjectClip &) const = default;
};

struct Project
{
    int version = kProjectVersion;
    std::filesystem::path dir {}; // absolute; not stored (the folder is where the file is)
    std::string name {};
    std::filesystem::path backbone {}; // model folder; empty = the bundled default
    std::vector<std::string> classes {}; // order = label index order shown to the user
    std::vector<ProjectClip> clips {};
    std::vector<std::filesystem::path> noise {}; // background-noise files for augmentation
    std::vector<std::string> imports {}; // what was imported ("root (layout)"), for the record
    PeftConfig peft {};
    std::string budget {}; // "" = knobs as given; else a parseBudget() text
    // Hyper-parameters; model, data and out are set when a run starts (stored as given).
    TrainOptions training {};
    // Run folders: relative inside the project (runs/<name>), absolute outside it (opened in the
    // Runs view: trained by the CLI elsewhere).
    std::vector<std::filesystem::path> runs {};
    std::uint64_t nextClipId = 1; // only grows, so an id is never reused for another clip
};

// Makes `dir` (and its parents), recordings/ and runs/, and writes project.json. `name` empty:
// the folder's name. Throws core::Error naming the folder when it is a file, already holds a
// project, or is not empty (Usage), or cannot be created (Io).
Project createProject(const std::filesystem::path &dir, const std::string &name);

// Reads dir/project.json. Throws core::Error naming project.json: missing (Io), malformed JSON
// or a bad field (Format, naming the field), written by a newer version (Unsupported).
Project loadProject(const std::filesystem::path &dir);

// Atomic write of dir/project.json; core::Error(Io) naming the file when it cannot be written.
void saveProject(const Project &project);

// The project.json text of `project` (what saveProject writes).
std::string projectJson(const Project &project);

// true when `dir` holds a project.json.
bool isProjectDir(const std::filesystem::path &dir);

// Absolute form of a path stored in the project (relative ones are relative to project.dir).
std::filesystem::path resolvePath(const Project &project, const std::filesystem::path &path);
// The form to store: relative to project.dir when `path` lies inside it, else absolute.
std::filesystem::path storedPath(const Project &project, const std::filesystem::path &path);

// Adds an imported dataset's clips (labels added to classes in order of appearance, files
// already in the project skipped, noise files appended unless present, "root (layout)"
// appended to imports); returns the ids added, in dataset order. Each clip keeps the split,
// fold and group the dataset gives it (call assignSplits() first to freeze a seeded split).
std::vector<std::uint64_t> addDataset(Project &project, const Dataset &dataset);

// A new unique absolute path dir/recordings/<label>/<label>_NNN.wav (NNN from 001; the label
// sanitised for the file system) that neither exists on disk nor is used by a clip. Not created.
std::filesystem::path newRecordingPath(const Project &project, const std::string &label);

// `text` as a file or folder name: letters, digits, '-', '_' and non-ASCII UTF-8 kept, other
// characters replaced by '_', no leading '.'; "clip" when nothing is left.
std::string sanitizeFileName(const std::string &text);

std::filesystem::path clipPath(const Project &project, const ProjectClip &clip); // absolute
const ProjectClip *findClip(const Project &project, std::uint64_t id); // nullptr: no such clip

// true when the trim cuts anything off (start > 0, or an end before the file's end).
bool isTrimmed(const ProjectClip &clip);
// The seconds training sees: the trimmed window (the whole file when untrimmed).
double trimmedSeconds(const ProjectClip &clip);

// Writes what training reads: dir/cache/manifest.csv in the Csv layout (columns path, label,
// split, fold, group, as importDataset reads them; paths inside the project relative to
// cache/) listing every clip of a class in clip order. A trimmed clip is rendered once (at its
// native rate and channels, float WAV) to dir/cache/trimmed/<content-hash>.wav, keyed by the
// file's bytes and the trim, and listed instead. Returns the manifest path. Classes without
// clips are left out (the trainer reports a class it needs). Noise files cannot be listed in
// this layout: a run gets the project's as TrainOptions::noiseFiles. Throws core::Error naming the
// file: unreadable clip, a trim leaving no audio, unwritable cache folder.
std::filesystem::path writeTrainingManifest(const Project &project);

// Absolute dir/runs/YYYYMMDD-HHMMSS-<method>[-n] (local time; -2, -3, ... when that folder
// exists or is listed in runs). Not created.
std::filesystem::path newRunDir(const Project &project, const std::string &method);

struct ClassCount
{
    std::string label {};
    int clips = 0;
    double seconds = 0.0; // trimmed
};
// One entry per class, in class order.
std::vector<ClassCount> classCounts(const Project &project);
// How many classes have at least one clip (training needs two).
int classesWithClips(const Project &project);
// Balance warnings for the UI, one line per class that needs more clips: fewer than 5 clips, or
// fewer than half the median count over the classes. Empty when balanced.
std::vector<std::string> balanceWarnings(const Project &project);

} // namespace astpeft::core
