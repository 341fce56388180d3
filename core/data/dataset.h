// SPDX-License-Identifier: MIT
// Audio datasets on disk: the layouts users bring (folder per class, CSV/TSV manifests, ESC-50,
// Speech Commands v2, UrbanSound8K, Fluent Speech Commands, Hugging Face AudioFolder), imported
// into one list of labelled clips with train/validation/test splits, and the import report.
// Torch-free (ui/ and app/ include it).
//
// Importing never fails because of one bad clip: unreadable, too short, or unlabelled files, and
// malformed manifest rows (the manifest as the file, "line N: problem" as the reason), are listed
// in Dataset::skipped with the reason, and the run goes on. It fails (core::Error) only when the
// dataset as a whole cannot be used: the path is missing, the layout is unknown, its manifest
// cannot be read as a table (no header, a required column missing, an unterminated quote), or no
// usable clip is left.
#pragma once

#include "enum_names.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace astpeft::core {

enum class DatasetLayout {
    Auto, // detect (detectLayout)
    Folders, // root/<label>/*.wav (optionally root/{train,validation,test}/<label>/*)
    Csv, // a .csv/.tsv file (or root/manifest.csv): path,label[,split|fold]
    Esc50, // root/meta/esc50.csv + root/audio/, folds 1-5
    SpeechCommands, // root/<word>/*.wav + validation_list.txt + testing_list.txt
    UrbanSound8K, // root/metadata/UrbanSound8K.csv + root/audio/fold1..10/
    // root/data/{train,valid,test}_data.csv; label = action-object-location (joined with '-',
    // e.g. "change language-none-none"; the values themselves contain no '-')
    FluentSpeechCommands,
    AudioFolder, // Hugging Face AudioFolder: metadata.csv with file_name (+ label), or folders
};
template<> struct EnumTable<DatasetLayout>
{
    static constexpr const char *what = "layout";
    static constexpr std::pair<DatasetLayout, const char *> items[] = {
        { DatasetLayout::Auto, "auto" },
        { DatasetLayout::Folders, "folders" },
        { DatasetLayout::Csv, "csv" },
        { DatasetLayout::Esc50, "esc50" },
        { DatasetLayout::SpeechCommands, "speech-commands" },
        { DatasetLayout::UrbanSound8K, "urbansound8k" },
        { DatasetLayout::FluentSpeechCommands, "fluent-speech-commands" },
        { DatasetLayout::AudioFolder, "audiofolder" },
    };
};

enum class Split { Unassigned, Train, Validation, Test };
template<> struct EnumTable<Split>
{
    static constexpr const char *what = "split";
    static constexpr std::pair<Split, const char *> items[] = {
        { Split::Unassigned, "unassigned" },
        { Split::Train, "train" },
        { Split::Validation, "validation" },
        { Split::Test, "test" },
    };
};

struct Clip
{
    std::filesystem::path file; // absolute or relative to the current directory; never to root
    int label = -1; // index into Dataset::labels
    Split split = Split::Unassigned; // as the layout says; Unassigned until assignSplits()
    int fold = 0; // ESC-50 1-5, UrbanSound8K 1-10, a CSV "fold" column; 0 = none
    // Clips with the same non-empty group never end up in different splits (speaker for Speech
    // Commands and Fluent Speech Commands, source recording for ESC-50 and UrbanSound8K).
    std::string group;
    double seconds = 0.0; // duration (probed)
    int sampleRate = 0; // native rate (probed)
    int channels = 0;
    // The split the layout itself defines (`split` before any assignSplits()), so that
    // assignSplits() can be called again with other options and gives the same result as the
    // first time.
    Split layoutSplit = Split::Unassigned;
};

struct SkippedFile
{
    std::filesystem::path file;
    std::string reason; // "unreadable: ...", "too short: 0.01 s", "unknown label 'x'", ...
};

struct Dataset
{
    DatasetLayout layout = DatasetLayout::Auto; // as detected or forced
    std::filesystem::path root;
    std::vector<std::string> labels; // sorted by name unless the layout fixes an order
    std::vector<Clip> clips;
    // Background noise for augmentation (Speech Commands' _background_noise_, a folder named
    // _background_noise_ in other folder layouts): not a class.
    std::vector<std::filesystem::path> noise;
    std::vector<SkippedFile> skipped;
};

struct ImportOptions
{
    DatasetLayout layout = DatasetLayout::Auto;
    double minSeconds = 0.025; // shorter clips are skipped (one fbank frame is 25 ms)
    bool probe = true; // open every file (duration, rate, readability); false trusts the listing
};

// The layout of `path` (a folder, or a .csv/.tsv manifest file). Throws core::Error(Format)
// naming the path and the layouts it looked for when nothing matches (Io when it is missing).
// A folder is checked in this order, the first match wins: meta/esc50.csv (Esc50),
// metadata/UrbanSound8K.csv (UrbanSound8K), data/{train,valid,test}_data.csv
// (FluentSpeechCommands), validation_list.txt or testing_list.txt (SpeechCommands),
// manifest.csv or manifest.tsv (Csv), metadata.csv in the folder or in its train/validation/test
// folders (AudioFolder), sub-folders holding audio files (Folders).
DatasetLayout detectLayout(const std::filesystem::path &path);

// Reads the dataset at `path` with `options.layout` (Auto: detectLayout). Throws core::Error
// (Io: missing path; Format: a manifest that is no table, naming the file and line; Usage: no
// usable clip, naming the first skipped file and its reason). Clips come in a deterministic order
// (manifest order, or sorted paths). CSV manifests may also have a group column
// (group|speaker|speaker_id|source). Labels that are all integers sort as numbers ("2" before
// "10"). Audio files: .wav .flac .ogg .oga .opus .mp3 .aif .aiff; text, tables, documentation and
// hidden files in class folders are ignored silently, other files are reported as "not an audio
// file".
Dataset importDataset(const std::filesystem::path &path, const ImportOptions &options = {});

// Loose audio files (dropped on the studio, or listed on a command line) as a dataset of the
// Folders layout: each file's class is `label`, or its parent folder's name when `label` is
// empty. Files that are not audio (by extension), missing, unreadable or too short are skipped
// with the reason, as importDataset does; throws core::Error(Usage) when no usable clip is left.
Dataset importFiles(const std::vector<std::filesystem::path> &files, const std::string &label = {},
    const ImportOptions &options = {});

// Merges `from` into `into`: labels joined by name (new ones appended in `from`'s order), its
// clips remapped and appended, noise and skipped files appended; `into` keeps its layout and
// root. When `into` is empty (no label, clip, noise or skipped file), `from` is moved in whole. For
// imports of several things at once.
void mergeDatasets(Dataset &into, Dataset from);

// Imports what a user dropped or listed, merged into one dataset (mergeDatasets), in order:
// folders and .csv/.tsv files (any case) through importDataset with `layout` (Auto detects each),
// other files as loose audio through importFiles with `looseLabel`, merged last. One path that
// cannot be imported fails the whole import: core::Error(Io) naming a missing path, Usage
// "nothing to import" for an empty list, or importDataset's and importFiles' errors. On success
// `description` (when given) gets what was imported, e.g. "data/esc50 (esc50), 3 audio files"
// (a single loose file: its path).
Dataset importPaths(const std::vector<std::filesystem::path> &paths, DatasetLayout layout,
    const std::string &looseLabel, std::string *description = nullptr);

// Whether the file name has an audio extension importDataset reads (.wav .flac .ogg .oga .opus
// .mp3 .aif .aiff).
bool hasAudioExtension(const std::filesystem::path &path);

struct ClassSummary
{
    std::string label;
    int clips = 0;
    double seconds = 0.0;
    std::map<Split, int> perSplit;
};
struct ImportSummary
{
    std::vector<ClassSummary> classes; // in label order
    int clips = 0;
    double seconds = 0.0;
    std::map<int, int> sampleRates; // rate -> clips
    int skipped = 0;
};
ImportSummary summarize(const Dataset &dataset);
// The summary of the clips that are still usable after the import: those not among `skipped`
// (the import's skipped files and those found unusable later, e.g. when decoded for training),
// whose size is the summary's skipped count.
ImportSummary summarize(const Dataset &dataset, const std::vector<SkippedFile> &skipped);

struct SplitOptions
{
    std::uint64_t seed = 10;
    double validationFraction = 0.1; // of each class, used when the layout has no validation
    double testFraction = 0.0; // of each class, used when the layout has no test split
    // Fold-based layouts (ESC-50, UrbanSound8K, CSV folds): the folds for validation and test;
    // every other fold trains. 0 = default (ESC-50: validation 4, test 5, as in the paper;
    // UrbanSound8K: test 10, validation drawn from training folds by validationFraction).
    int validationFold = 0;
    int testFold = 0;
    // > 0: keep k training clips per class (seeded choice; all of them when a class has fewer);
    // the other training clips become Split::Unassigned, used by no split.
    int fewShot = 0;
};

// Fills every Clip::split. Splits the layout already defines are kept. Otherwise a seeded split
// stratified by class: each class with at least 2 clips gets at least one validation clip, and
// clips sharing a group stay together (no leakage). Few-shot keeps k seeded training clips per
// class. Throws core::Error(Usage) when a class ends with no training clip.
void assignSplits(Dataset &dataset, const SplitOptions &options = {});

// The clips of one split, in dataset order.
std::vector<Clip> clipsOf(const Dataset &dataset, Split split);

} // namespace astpeft::core
