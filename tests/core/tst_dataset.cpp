// SPDX-License-Identifier: MIT
// core/data/dataset: every layout generated on disk with tiny real WAV files (and broken ones),
// layout detection, the import report, summaries, malformed manifests, merging and multi-path
// imports, and the seeded splits (stratification, groups, folds, few-shot, determinism) on
// generated and in-memory datasets.
#include "audio/audio_file.h"
#include "data/dataset.h"
#include "error.h"
#include "random.h"
#include "test_support.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <set>
#include <string>
#include <vector>

using namespace astpeft;
namespace fs = std::filesystem;

Q_DECLARE_METATYPE(core::DatasetLayout)
Q_DECLARE_METATYPE(core::ErrorKind)

namespace {

using test::captureError;

void writeTone(const fs::path &path, double seconds, int rate = 16000, int channels = 1)
{
    fs::create_directories(path.parent_path());
    const std::size_t frames = std::size_t(std::llround(seconds * rate));
    std::vector<float> samples(frames * std::size_t(channels));
    for (std::size_t i = 0; i < samples.size(); ++i)
        samples[i] = float(0.3 * std::sin(2.0 * std::numbers::pi * 440.0 * double(i) / rate));
    core::writeAudio(path, samples, rate, channels);
}

void writeText(const fs::path &path, const std::string &text)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

QString qs(const std::string &text)
{
    return QString::fromStdString(text);
}

QString relativeName(const fs::path &file, const fs::path &base)
{
    return qs(file.lexically_relative(base).generic_string());
}

// "file: reason" per skipped file, relative to `base`.
QStringList skippedList(const core::Dataset &dataset, const fs::path &base)
{
    QStringList out;
    for (const auto &s : dataset.skipped)
        out << relativeName(s.file, base) + ": " + qs(s.reason);
    return out;
}

// "file label split fold group" per clip, relative to `base`.
QStringList clipList(const core::Dataset &dataset, const fs::path &base)
{
    QStringList out;
    for (const auto &clip : dataset.clips) {
        out << QStringLiteral("%1 %2 %3 %4 %5")
                   .arg(relativeName(clip.file, base),
                       qs(dataset.labels.at(std::size_t(clip.label))),
                       qs(core::enumName(clip.split)))
                   .arg(clip.fold)
                   .arg(qs(clip.group));
    }
    return out;
}

QStringList labelList(const core::Dataset &dataset)
{
    QStringList out;
    for (const auto &label : dataset.labels)
        out << qs(label);
    return out;
}

QStringList fileList(const std::vector<fs::path> &files, const fs::path &base)
{
    QStringList out;
    for (const auto &file : files)
        out << relativeName(file, base);
    return out;
}

// What probeAudio says about a broken file: the import report quotes it.
QString probeReason(const fs::path &file)
{
    const auto error = captureError([&] { core::probeAudio(file); });
    return error ? qs(error->reason()) : QString();
}

std::vector<core::Split> splitsOf(const core::Dataset &dataset)
{
    std::vector<core::Split> out;
    for (const auto &clip : dataset.clips)
        out.push_back(clip.split);
    return out;
}

// counts[label][split]
std::vector<std::map<core::Split, int>> countsOf(const core::Dataset &dataset)
{
    std::vector<std::map<core::Split, int>> counts(dataset.labels.size());
    for (const auto &clip : dataset.clips)
        ++counts[std::size_t(clip.label)][clip.split];
    return counts;
}

// Whether some group has clips in two splits.
bool groupsStraddle(const core::Dataset &dataset)
{
    std::map<std::string, std::set<core::Split>> splits;
    for (const auto &clip : dataset.clips) {
        if (!clip.group.empty())
            splits[clip.group].insert(clip.split);
    }
    for (const auto &[group, set] : splits) {
        if (set.size() > 1)
            return true;
    }
    return false;
}

// A dataset that exists only in memory (assignSplits never opens files): `sizes[c]` clips of
// class c, no groups.
core::Dataset memoryDataset(const std::vector<int> &sizes)
{
    core::Dataset dataset;
    dataset.layout = core::DatasetLayout::Folders;
    for (std::size_t c = 0; c < sizes.size(); ++c) {
        dataset.labels.push_back("class" + std::to_string(c));
        for (int i = 0; i < sizes[c]; ++i) {
            core::Clip clip;
            clip.file = QString("c%1_%2.wav").arg(c).arg(i).toStdString();
            clip.label = int(c);
            clip.seconds = 1.0;
            dataset.clips.push_back(clip);
        }
    }
    return dataset;
}

// Speakers saying several words (groups across classes), as in Speech Commands, plus some
// ungrouped clips.
core::Dataset speakerDataset()
{
    core::Dataset dataset;
    dataset.layout = core::DatasetLayout::Csv;
    dataset.labels = { "down", "go", "left", "stop", "up" };
    core::Rng rng { 7 };
    for (int speaker = 0; speaker < 60; ++speaker) {
        for (int label = 0; label < 5; ++label) {
            for (std::uint64_t take = 0, n = rng.below(4); take < n; ++take) {
                core::Clip clip;
                clip.file = std::to_string(label) + "/" + std::to_string(speaker) + "_"
                    + std::to_string(take) + ".wav";
                clip.label = label;
                clip.group = "speaker" + std::to_string(speaker);
                dataset.clips.push_back(clip);
            }
        }
    }
    for (int label = 0; label < 5; ++label) {
        for (int i = 0; i < 5; ++i) {
            core::Clip clip;
            clip.file = QString("loose%1_%2.wav").arg(label).arg(i).toStdString();
            clip.label = label;
            dataset.clips.push_back(clip);
        }
    }
    return dataset;
}

} // namespace

class TestDataset : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    void detectLayout_data();
    void detectLayout();
    void detectLayoutErrors();
    void detectLayoutMessage();
    void folderPerClass();
    void folderSplits();
    void csvManifest();
    void tsvManifestGivenDirectly();
    void malformedManifests_data();
    void malformedManifests();
    void malformedLayoutManifests_data();
    void malformedLayoutManifests();
    void malformedRowsAreSkipped_data();
    void malformedRowsAreSkipped();
    void malformedLayoutRowsAreSkipped_data();
    void malformedLayoutRowsAreSkipped();
    void esc50();
    void speechCommands();
    void urbanSound8K();
    void fluentSpeechCommands();
    void audioFolderWithLabels();
    void audioFolderWithoutLabels();
    void summary();
    void overrideLayout();
    void importErrors();
    void withoutProbing();
    void looseFiles();
    void mergeDatasets();
    void mergeIntoEmpty();
    void importPaths();
    void importPathsErrors();

    void splitStratified();
    void splitGroupsNeverStraddle();
    void splitWithinClassGroups();
    void splitDeterministic();
    void splitKeepsLayoutSplits();
    void splitFolds();
    void splitCsvFolds();
    void fewShot();
    void classWithoutTrainingClip();
    void splitOptionsRejected_data();
    void splitOptionsRejected();
    void clipsOfSplit();

private:
    fs::path path(const char *name) const { return fs::path(m_dir.path().toStdString()) / name; }
    QTemporaryDir m_dir;
};

void TestDataset::initTestCase()
{
    QVERIFY(m_dir.isValid());

    // Folder per class, with every kind of broken or stray file.
    {
        const fs::path r = path("folders");
        writeTone(r / "cat" / "c1.wav", 0.2);
        writeTone(r / "cat" / "c2.wav", 0.3, 44100);
        writeTone(r / "cat" / "c3.wav", 0.2, 16000, 2);
        writeText(r / "cat" / "broken.wav", "RIFF this is certainly not a wave file at all");
        writeText(r / "cat" / "notes.txt", "ignored");
        writeTone(r / "cat" / ".hidden.wav", 0.2);
        writeTone(r / "dog" / "d1.wav", 0.2);
        writeTone(r / "dog" / "d2.wav", 0.1);
        writeTone(r / "dog" / "sub" / "d3.flac", 0.25);
        writeText(r / "dog" / "empty.wav", "");
        writeText(r / "dog" / "cover.jpg", "\xFF\xD8\xFF not really a jpeg");
        writeTone(r / "bird" / "b1.wav", 0.2);
        writeTone(r / "bird" / "short.wav", 0.005);
        writeText(r / "nothing" / "README.md", "a folder without audio is no class");
        writeTone(r / "_background_noise_" / "hum.wav", 0.5);
        writeText(r / "_background_noise_" / "README.md", "noise");
        writeTone(r / "loose.wav", 0.2);
        writeText(r / "README.md", "dataset");
    }
    // Folder per class inside split folders; class c has only a test clip.
    {
        const fs::path r = path("folder-splits");
        for (const char *file :
            { "train/a/1.wav", "train/a/2.wav", "train/a/3.wav", "train/b/1.wav", "train/b/2.wav",
                "valid/a/1.wav", "valid/b/1.wav", "test/a/1.wav", "test/c/1.wav" })
            writeTone(r / file, 0.1);
        writeTone(r / "train" / "_background_noise_" / "n.wav", 0.3);
    }
    // CSV manifest: BOM, CRLF, quotes, doubled quotes, a quoted line break, an absolute path, a
    // blank line, a missing file, a duplicate.
    {
        const fs::path r = path("csv");
        for (const char *file :
            { "clips/a1.wav", "clips/with, comma.wav", "clips/b1.wav", "clips/c1.wav" })
            writeTone(r / file, 0.1);
        writeTone(path("elsewhere") / "b2.wav", 0.1);
        writeText(r / "manifest.csv",
            "\xEF\xBB\xBFpath,label,split,note\r\n"
            "clips/a1.wav,alpha,train,\r\n"
            "\"clips/with, comma.wav\",alpha,Train,\"a \"\"quoted\"\" note\"\r\n"
            "clips/b1.wav,\"be \"\"ta\"\"\",dev,\"two\r\nlines\"\r\n"
            "clips/missing.wav,alpha,test,\r\n"
                + (path("elsewhere") / "b2.wav").string()
                + ",\"be \"\"ta\"\"\",test,\r\n"
                  "\r\n"
                  "./clips/c1.wav,gamma,,\r\n"
                  "clips/b1.wav,gamma,train,\r\n");
    }
    // TSV manifest given directly: numeric labels, folds 1-3.
    {
        const fs::path r = path("tsv");
        std::string tsv = "file_name\tclass\tfold\n";
        for (const char *label : { "10", "2", "1" }) {
            for (int fold = 1; fold <= 3; ++fold) {
                for (int take = 0; take < 2; ++take) {
                    const std::string file = "sub/" + std::string(label) + "_"
                        + std::to_string(fold) + "_" + std::to_string(take) + ".wav";
                    writeTone(r / file, 0.1);
                    tsv += file + "\t" + label + "\t" + std::to_string(fold) + "\n";
                }
            }
        }
        writeText(r / "list.tsv", tsv);
    }
    // ESC-50: targets not in alphabetical order, folds 1-5, two takes of one source recording,
    // a row without its file.
    {
        const fs::path r = path("esc50");
        const char *categories[] = { "dog", "rooster", "cat" };
        std::string csv = "filename,fold,target,category,esc10,src_file,take\n";
        for (int fold = 1; fold <= 5; ++fold) {
            for (int target = 0; target < 3; ++target) {
                const std::string source = std::to_string(100 + fold * 10 + target);
                for (const char *take : { "A", "B" }) {
                    if (take[0] == 'B' && !(fold == 1 && target == 0))
                        continue;
                    const std::string file = std::to_string(fold) + "-" + source + "-" + take + "-"
                        + std::to_string(target) + ".wav";
                    writeTone(r / "audio" / file, 0.1, 44100);
                    csv += file + "," + std::to_string(fold) + "," + std::to_string(target) + ","
                        + categories[target] + ",False," + source + "," + take + "\n";
                }
            }
        }
        csv += "5-999-A-0.wav,5,0,dog,False,999,A\n";
        writeText(r / "meta" / "esc50.csv", csv);
    }
    // Speech Commands v2.
    {
        const fs::path r = path("speech-commands");
        for (const char *word : { "yes", "no", "up" }) {
            for (const char *speaker : { "aaaa1111", "bbbb2222", "cccc3333", "dddd4444" })
                writeTone(r / word / (std::string(speaker) + "_nohash_0.wav"), 0.1);
        }
        writeTone(r / "yes" / "aaaa1111_nohash_1.wav", 0.1);
        writeTone(r / "_background_noise_" / "white_noise.wav", 0.5);
        writeTone(r / "_background_noise_" / "running_tap.wav", 0.4, 44100);
        writeText(r / "_background_noise_" / "README.md", "noise");
        writeText(r / "LICENSE", "CC-BY-4.0");
        writeText(r / "README.md", "speech commands");
        writeText(r / "validation_list.txt",
            "no/bbbb2222_nohash_0.wav\nup/bbbb2222_nohash_0.wav\nyes/bbbb2222_nohash_0.wav\n");
        writeText(r / "testing_list.txt",
            "no/cccc3333_nohash_0.wav\r\nup/cccc3333_nohash_0.wav\r\nyes/cccc3333_nohash_0.wav\r\n"
            "maybe/eeee5555_nohash_0.wav\r\nup/ffff6666_nohash_0.wav\r\n");
    }
    // UrbanSound8K: class ids 0, 1, 3; per fold and class one source recording cut in two.
    {
        const fs::path r = path("urbansound8k");
        const std::pair<int, const char *> classes[] = { { 0, "air_conditioner" },
            { 3, "dog_bark" }, { 1, "car_horn" } };
        std::string csv = "slice_file_name,fsID,start,end,salience,fold,classID,class\n";
        for (int fold = 1; fold <= 10; ++fold) {
            for (const auto &[id, name] : classes) {
                for (int slice = 0; slice < 2; ++slice) {
                    const std::string fsid = std::to_string(1000 * (id + 1) + fold);
                    const std::string file =
                        fsid + "-" + std::to_string(id) + "-0-" + std::to_string(slice) + ".wav";
                    writeTone(r / "audio" / ("fold" + std::to_string(fold)) / file, 0.1);
                    csv += file + "," + fsid + ",0.0,4.0,1," + std::to_string(fold) + ","
                        + std::to_string(id) + "," + name + "\n";
                }
            }
        }
        writeText(r / "metadata" / "UrbanSound8K.csv", csv);
    }
    // Fluent Speech Commands.
    {
        const fs::path r = path("fluent");
        const char *header = ",path,speakerId,transcription,action,object,location\n";
        const char *intents[][3] = { { "activate", "lights", "kitchen" },
            { "change language", "none", "none" }, { "decrease", "volume", "none" } };
        auto rows = [&](const std::vector<std::string> &speakers) {
            std::string csv = header;
            int index = 0;
            for (const std::string &speaker : speakers) {
                for (const auto &intent : intents) {
                    const std::string file = "wavs/speakers/" + speaker + "/" + intent[0][0]
                        + std::to_string(index) + ".wav";
                    writeTone(path("fluent") / file, 0.1);
                    csv += std::to_string(index++) + "," + file + "," + speaker + ",\"say it, "
                        + intent[0] + "\"," + intent[0] + "," + intent[1] + "," + intent[2] + "\n";
                }
            }
            return csv;
        };
        writeText(r / "data" / "train_data.csv", rows({ "spkA", "spkB" }));
        writeText(r / "data" / "valid_data.csv", rows({ "spkC" }));
        writeText(r / "data" / "test_data.csv",
            rows({ "spkD" }) + "3,wavs/speakers/spkD/gone.wav,spkD,gone,activate,lights,kitchen\n");
    }
    // AudioFolder with a label column, splits from the first folder of file_name.
    {
        const fs::path r = path("audiofolder-labels");
        for (const char *file : { "train/0001.wav", "train/0002.wav", "test/0003.wav", "0004.wav" })
            writeTone(r / file, 0.1);
        writeText(r / "metadata.csv",
            "file_name,label,transcription\ntrain/0001.wav,yes,\"yes, please\"\n"
            "train/0002.wav,no,no\ntest/0003.wav,yes,yes\n0004.wav,no,no\n");
    }
    // AudioFolder without labels: class folders inside split folders, one metadata.csv each.
    {
        const fs::path r = path("audiofolder-folders");
        for (const char *file :
            { "train/cat/1.wav", "train/dog/2.wav", "train/3.wav", "test/cat/4.wav" })
            writeTone(r / file, 0.1);
        writeText(r / "train" / "metadata.csv",
            "file_name,caption\ncat/1.wav,a cat\ndog/2.wav,a dog\n3.wav,loose\n");
        writeText(r / "test" / "metadata.csv", "file_name,caption\ncat/4.wav,meow\n");
    }
}

void TestDataset::detectLayout_data()
{
    using L = core::DatasetLayout;
    QTest::addColumn<QString>("name");
    QTest::addColumn<L>("layout");
    QTest::addRow("folder per class") << "folders" << L::Folders;
    QTest::addRow("folder per class in split folders") << "folder-splits" << L::Folders;
    QTest::addRow("folder with manifest.csv") << "csv" << L::Csv;
    QTest::addRow("csv file") << "csv/manifest.csv" << L::Csv;
    QTest::addRow("tsv file") << "tsv/list.tsv" << L::Csv;
    QTest::addRow("esc-50") << "esc50" << L::Esc50;
    QTest::addRow("speech commands") << "speech-commands" << L::SpeechCommands;
    QTest::addRow("urbansound8k") << "urbansound8k" << L::UrbanSound8K;
    QTest::addRow("fluent speech commands") << "fluent" << L::FluentSpeechCommands;
    QTest::addRow("audiofolder with labels") << "audiofolder-labels" << L::AudioFolder;
    QTest::addRow("audiofolder in split folders") << "audiofolder-folders" << L::AudioFolder;
}

void TestDataset::detectLayout()
{
    QFETCH(QString, name);
    QFETCH(core::DatasetLayout, layout);
    const fs::path p = path(name.toUtf8().constData());
    QCOMPARE(core::detectLayout(p), layout);
    // importDataset agrees and keeps the order of fixed layouts.
    QCOMPARE(core::importDataset(p).layout, layout);
}

void TestDataset::detectLayoutErrors()
{
    const fs::path empty = path("empty");
    fs::create_directories(empty / "docs");
    writeText(empty / "docs" / "notes.txt", "no audio here");
    auto error = captureError([&] { core::detectLayout(empty); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Format);
    const QString message = error->what();
    QVERIFY2(message.contains(qs(empty.string())), error->what());
    for (const char *lookedFor : { "meta/esc50.csv", "metadata/UrbanSound8K.csv", "_data.csv",
             "validation_list.txt", "manifest.csv", "metadata.csv", "class folders" })
        QVERIFY2(message.contains(lookedFor), error->what());

    error = captureError([&] { core::detectLayout(path("no-such-folder")); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Io);
    QVERIFY(QString(error->what()).contains("no-such-folder"));

    error = captureError([&] { core::detectLayout(empty / "docs" / "notes.txt"); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Format);
    QVERIFY(QString(error->what()).contains("notes.txt"));
}

void TestDataset::detectLayoutMessage()
{
    // The message lists the layouts in detection order, from the layout table.
    const fs::path dir = path("nothing-known");
    writeText(dir / "notes.txt", "no audio here");
    const auto error = captureError([&] { core::detectLayout(dir); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Format);
    QCOMPARE(error->reason(),
        std::string("no known dataset layout; looked for meta/esc50.csv (esc50), "
                    "metadata/UrbanSound8K.csv (urbansound8k), data/{train,valid,test}_data.csv "
                    "(fluent-speech-commands), validation_list.txt or testing_list.txt "
                    "(speech-commands), manifest.csv or manifest.tsv (csv), metadata.csv "
                    "(audiofolder), and class folders holding audio files (folders)"));
}

void TestDataset::folderPerClass()
{
    const fs::path r = path("folders");
    const core::Dataset d = core::importDataset(r);
    QCOMPARE(d.layout, core::DatasetLayout::Folders);
    QCOMPARE(d.root, r);
    QCOMPARE(labelList(d), QStringList({ "bird", "cat", "dog" }));
    QCOMPARE(clipList(d, r),
        QStringList({ "bird/b1.wav bird unassigned 0 ", "cat/c1.wav cat unassigned 0 ",
            "cat/c2.wav cat unassigned 0 ", "cat/c3.wav cat unassigned 0 ",
            "dog/d1.wav dog unassigned 0 ", "dog/d2.wav dog unassigned 0 ",
            "dog/sub/d3.flac dog unassigned 0 " }));
    QCOMPARE(fileList(d.noise, r), QStringList({ "_background_noise_/hum.wav" }));
    const QString broken = probeReason(r / "cat" / "broken.wav");
    QVERIFY(!broken.isEmpty());
    QCOMPARE(skippedList(d, r),
        QStringList({ "bird/short.wav: too short: 0.005 s (minimum 0.025 s)",
            "cat/broken.wav: unreadable: " + broken, "dog/cover.jpg: not an audio file",
            "dog/empty.wav: unreadable: empty file", "loose.wav: not in a class folder" }));

    // Clip files are usable as they are (root joined in), and carry what the probe found.
    for (const auto &clip : d.clips)
        QVERIFY(fs::is_regular_file(clip.file));
    const core::Clip &c2 = d.clips[2];
    QCOMPARE(c2.sampleRate, 44100);
    QCOMPARE(c2.channels, 1);
    QVERIFY(std::abs(c2.seconds - 0.3) < 1e-3);
    const core::Clip &c3 = d.clips[3];
    QCOMPARE(c3.channels, 2);
    QCOMPARE(c3.sampleRate, 16000);
    QVERIFY(std::abs(c3.seconds - 0.2) < 1e-3);
    QVERIFY(std::abs(d.clips[6].seconds - 0.25) < 1e-3);
    QCOMPARE(d.clips[6].label, 2);

    // A longer minimum drops more clips, each with its duration.
    const core::Dataset strict = core::importDataset(r, { .minSeconds = 0.15 });
    QCOMPARE(strict.clips.size(), std::size_t(6));
    QVERIFY(skippedList(strict, r).contains("dog/d2.wav: too short: 0.1 s (minimum 0.15 s)"));
}

void TestDataset::folderSplits()
{
    const fs::path r = path("folder-splits");
    const core::Dataset d = core::importDataset(r);
    QCOMPARE(labelList(d), QStringList({ "a", "b", "c" }));
    QCOMPARE(clipList(d, r),
        QStringList({ "test/a/1.wav a test 0 ", "test/c/1.wav c test 0 ",
            "train/a/1.wav a train 0 ", "train/a/2.wav a train 0 ", "train/a/3.wav a train 0 ",
            "train/b/1.wav b train 0 ", "train/b/2.wav b train 0 ", "valid/a/1.wav a validation 0 ",
            "valid/b/1.wav b validation 0 " }));
    QCOMPARE(fileList(d.noise, r), QStringList({ "train/_background_noise_/n.wav" }));
    QVERIFY(d.skipped.empty());
    for (const auto &clip : d.clips)
        QCOMPARE(clip.layoutSplit, clip.split);
}

void TestDataset::csvManifest()
{
    const fs::path r = path("csv");
    const core::Dataset d = core::importDataset(r);
    QCOMPARE(d.layout, core::DatasetLayout::Csv);
    QCOMPARE(labelList(d), QStringList({ "alpha", "be \"ta\"", "gamma" }));
    QCOMPARE(clipList(d, r),
        QStringList({ "clips/a1.wav alpha train 0 ", "clips/with, comma.wav alpha train 0 ",
            "clips/b1.wav be \"ta\" validation 0 ", "../elsewhere/b2.wav be \"ta\" test 0 ",
            "clips/c1.wav gamma unassigned 0 " }));
    QVERIFY(d.clips[3].file.is_absolute());
    QCOMPARE(skippedList(d, r),
        QStringList({ "clips/missing.wav: missing file (manifest.csv line 6)",
            "clips/b1.wav: duplicate (manifest.csv line 10)" }));

    // The manifest file itself gives the same dataset.
    const core::Dataset direct = core::importDataset(r / "manifest.csv");
    QCOMPARE(clipList(direct, r), clipList(d, r));
}

void TestDataset::tsvManifestGivenDirectly()
{
    const fs::path r = path("tsv");
    const core::Dataset d = core::importDataset(r / "list.tsv");
    QCOMPARE(d.layout, core::DatasetLayout::Csv);
    // Integer labels sort as numbers.
    QCOMPARE(labelList(d), QStringList({ "1", "2", "10" }));
    QCOMPARE(d.clips.size(), std::size_t(18));
    QCOMPARE(clipList(d, r).first(), QString("sub/10_1_0.wav 10 unassigned 1 "));
    QCOMPARE(clipList(d, r).last(), QString("sub/1_3_1.wav 1 unassigned 3 "));
    QVERIFY(d.skipped.empty());
}

// A manifest that cannot be read as a table fails the import, naming the file and the line.
void TestDataset::malformedManifests_data()
{
    QTest::addColumn<QString>("content");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("reason");
    QTest::addRow("no path column") << "name,label\na.wav,x\n" << 1 << "no path column";
    QTest::addRow("no label column") << "path,split\na.wav,train\n" << 1 << "no label column";
    QTest::addRow("unterminated quote") << "path,label\na.wav,x\n\"b.wav,y\n"
                                        << 3 << "unterminated";
    QTest::addRow("empty file") << "" << 1 << "empty manifest";
}

void TestDataset::malformedManifests()
{
    QFETCH(QString, content);
    QFETCH(int, line);
    QFETCH(QString, reason);
    const fs::path file = path("malformed") / (std::string(QTest::currentDataTag()) + ".csv");
    writeText(file, content.toStdString());
    const auto error = captureError([&] { core::importDataset(file); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Format);
    QCOMPARE(error->file(), file);
    QVERIFY2(QString(error->what()).contains(qs(file.string())), error->what());
    QVERIFY2(qs(error->reason()).startsWith(QString("line %1: ").arg(line)), error->what());
    QVERIFY2(qs(error->reason()).contains(reason), error->what());
}

// Issue 17: one malformed row aborted the whole import. It is skipped and reported like a bad
// clip (the manifest, the line, the problem); the other rows import. When nothing is left, the
// import fails with one line naming the manifest, the line and the problem.
void TestDataset::malformedRowsAreSkipped_data()
{
    QTest::addColumn<QString>("header");
    QTest::addColumn<QString>("good");
    QTest::addColumn<QString>("bad");
    QTest::addColumn<QString>("reason");
    QTest::addRow("too many cells") << "path,label"
                                    << "good.wav,x"
                                    << "b.wav,y,z"
                                    << "expected 2 columns, found 3";
    QTest::addRow("too few cells") << "path,label"
                                   << "good.wav,x"
                                   << "b.wav"
                                   << "expected 2 columns, found 1";
    QTest::addRow("after a quoted line break") << "path,label,note"
                                               << "good.wav,x,\"two\nlines\""
                                               << "b.wav,y"
                                               << "expected 3 columns, found 2";
    QTest::addRow("unknown split") << "path,label,split"
                                   << "good.wav,x,train"
                                   << "b.wav,x,holdout"
                                   << "unknown split 'holdout'";
    QTest::addRow("bad fold") << "path,label,fold"
                              << "good.wav,x,1"
                              << "b.wav,x,one"
                              << "fold must be an integer";
    QTest::addRow("empty path") << "path,label"
                                << "good.wav,x"
                                << ",x"
                                << "empty path";
}

void TestDataset::malformedRowsAreSkipped()
{
    QFETCH(QString, header);
    QFETCH(QString, good);
    QFETCH(QString, bad);
    QFETCH(QString, reason);
    const fs::path root = path("malformed-rows") / QTest::currentDataTag();
    writeTone(root / "good.wav", 0.5);
    writeTone(root / "b.wav", 0.5);
    const fs::path file = root / "list.csv";
    const int badLine = 2 + int(good.count('\n')) + 1;
    writeText(file, (header + "\r\n" + good + "\r\n" + bad + "\r\n").toStdString());

    const core::Dataset d = core::importDataset(file);
    QCOMPARE(clipList(d, root).size(), 1);
    QVERIFY(clipList(d, root).first().startsWith("good.wav x "));
    QCOMPARE(d.skipped.size(), std::size_t(1));
    QCOMPARE(d.skipped.front().file, file);
    QVERIFY2(qs(d.skipped.front().reason).startsWith(QString("line %1: ").arg(badLine)),
        d.skipped.front().reason.c_str());
    QVERIFY2(qs(d.skipped.front().reason).contains(reason), d.skipped.front().reason.c_str());
    QCOMPARE(core::summarize(d).skipped, 1);

    // The bad row alone: nothing is left, one line names the manifest, line and problem.
    writeText(file, (header + "\n" + bad + "\n").toStdString());
    const auto error = captureError([&] { core::importDataset(file); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    const QString message = error->what();
    QVERIFY2(!message.contains('\n'), error->what());
    QVERIFY2(message.contains("no usable audio clip"), error->what());
    QVERIFY2(message.contains(qs(file.string()) + ": line 2: " + reason), error->what());
}

// A file-level problem of a layout's manifest (a missing column) fails the import.
void TestDataset::malformedLayoutManifests_data()
{
    QTest::addColumn<QString>("manifest");
    QTest::addColumn<QString>("content");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("reason");
    QTest::addRow("esc-50 without target") << "meta/esc50.csv"
                                           << "filename,fold,category\n1-1-A-0.wav,1,dog\n"
                                           << 1 << "no target column";
    QTest::addRow("fluent without action") << "data/train_data.csv"
                                           << ",path,speakerId,object,location\n0,a.wav,s,x,y\n"
                                           << 1 << "no action column";
}

void TestDataset::malformedLayoutManifests()
{
    QFETCH(QString, manifest);
    QFETCH(QString, content);
    QFETCH(int, line);
    QFETCH(QString, reason);
    const fs::path root = path("malformed-layouts") / QTest::currentDataTag();
    const fs::path file = root / manifest.toStdString();
    writeText(file, content.toStdString());
    const auto error = captureError([&] { core::importDataset(root); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Format);
    QCOMPARE(error->file(), file);
    QVERIFY2(qs(error->reason()).startsWith(QString("line %1: ").arg(line)), error->what());
    QVERIFY2(qs(error->reason()).contains(reason), error->what());
}

// A bad row of a layout's manifest is skipped with its line; the class it named is not added.
void TestDataset::malformedLayoutRowsAreSkipped_data()
{
    QTest::addColumn<QString>("manifest");
    QTest::addColumn<QString>("audio"); // where the good row's clip is
    QTest::addColumn<QString>("content");
    QTest::addColumn<QString>("reason");
    QTest::addRow("esc-50 target used twice")
        << "meta/esc50.csv"
        << "audio/1-1-A-0.wav"
        << "filename,fold,target,category\n1-1-A-0.wav,1,0,dog\n1-2-A-0.wav,1,0,cat\n"
        << "line 3: class id 0 is 'dog'";
    QTest::addRow("esc-50 bad target") << "meta/esc50.csv"
                                       << "audio/1-1-A-0.wav"
                                       << "filename,fold,target,category\n1-1-A-0.wav,1,0,dog\n"
                                          "1-2-A-0.wav,1,x,cat\n"
                                       << "line 3: target must be an integer";
    QTest::addRow("urbansound8k bad fold")
        << "metadata/UrbanSound8K.csv"
        << "audio/fold1/g.wav"
        << "slice_file_name,fsID,start,end,salience,fold,classID,class\ng.wav,1,0,1,1,1,0,dog\n"
           "x.wav,1,0,1,1,0,1,cat\n"
        << "line 3: fold must be an integer >= 1";
}

void TestDataset::malformedLayoutRowsAreSkipped()
{
    QFETCH(QString, manifest);
    QFETCH(QString, audio);
    QFETCH(QString, content);
    QFETCH(QString, reason);
    const fs::path root = path("malformed-layout-rows") / QTest::currentDataTag();
    const fs::path file = root / manifest.toStdString();
    writeText(file, content.toStdString());
    writeTone(root / audio.toStdString(), 0.5);
    const core::Dataset d = core::importDataset(root);
    QCOMPARE(d.clips.size(), std::size_t(1));
    QCOMPARE(labelList(d), QStringList({ "dog" }));
    const QStringList skipped = skippedList(d, root);
    QCOMPARE(skipped.size(), 1);
    QVERIFY2(skipped.first().startsWith(manifest + ": " + reason), qPrintable(skipped.first()));
}

void TestDataset::esc50()
{
    const fs::path r = path("esc50");
    const core::Dataset d = core::importDataset(r);
    // Ordered by target, not by name.
    QCOMPARE(labelList(d), QStringList({ "dog", "rooster", "cat" }));
    QCOMPARE(d.clips.size(), std::size_t(16));
    const QStringList clips = clipList(d, r / "audio");
    QCOMPARE(clips.mid(0, 4),
        QStringList({ "1-110-A-0.wav dog unassigned 1 110", "1-110-B-0.wav dog unassigned 1 110",
            "1-111-A-1.wav rooster unassigned 1 111", "1-112-A-2.wav cat unassigned 1 112" }));
    QCOMPARE(clips.last(), QString("5-152-A-2.wav cat unassigned 5 152"));
    QCOMPARE(d.clips[0].sampleRate, 44100);
    QCOMPARE(skippedList(d, r / "audio"),
        QStringList({ "5-999-A-0.wav: missing file (esc50.csv line 18)" }));
}

void TestDataset::speechCommands()
{
    const fs::path r = path("speech-commands");
    const core::Dataset d = core::importDataset(r);
    QCOMPARE(labelList(d), QStringList({ "no", "up", "yes" }));
    QCOMPARE(clipList(d, r),
        QStringList({ "no/aaaa1111_nohash_0.wav no train 0 aaaa1111",
            "no/bbbb2222_nohash_0.wav no validation 0 bbbb2222",
            "no/cccc3333_nohash_0.wav no test 0 cccc3333",
            "no/dddd4444_nohash_0.wav no train 0 dddd4444",
            "up/aaaa1111_nohash_0.wav up train 0 aaaa1111",
            "up/bbbb2222_nohash_0.wav up validation 0 bbbb2222",
            "up/cccc3333_nohash_0.wav up test 0 cccc3333",
            "up/dddd4444_nohash_0.wav up train 0 dddd4444",
            "yes/aaaa1111_nohash_0.wav yes train 0 aaaa1111",
            "yes/aaaa1111_nohash_1.wav yes train 0 aaaa1111",
            "yes/bbbb2222_nohash_0.wav yes validation 0 bbbb2222",
            "yes/cccc3333_nohash_0.wav yes test 0 cccc3333",
            "yes/dddd4444_nohash_0.wav yes train 0 dddd4444" }));
    QCOMPARE(fileList(d.noise, r),
        QStringList(
            { "_background_noise_/running_tap.wav", "_background_noise_/white_noise.wav" }));
    QCOMPARE(skippedList(d, r),
        QStringList(
            { "maybe/eeee5555_nohash_0.wav: unknown label 'maybe' (testing_list.txt line 4)",
                "up/ffff6666_nohash_0.wav: missing file (testing_list.txt line 5)" }));
}

void TestDataset::urbanSound8K()
{
    const fs::path r = path("urbansound8k");
    const core::Dataset d = core::importDataset(r);
    QCOMPARE(labelList(d), QStringList({ "air_conditioner", "car_horn", "dog_bark" }));
    QCOMPARE(d.clips.size(), std::size_t(60));
    QVERIFY(d.skipped.empty());
    const QStringList clips = clipList(d, r / "audio");
    QCOMPARE(clips.mid(0, 3),
        QStringList({ "fold1/1001-0-0-0.wav air_conditioner unassigned 1 1001",
            "fold1/1001-0-0-1.wav air_conditioner unassigned 1 1001",
            "fold1/4001-3-0-0.wav dog_bark unassigned 1 4001" }));
    QCOMPARE(clips.last(), QString("fold10/2010-1-0-1.wav car_horn unassigned 10 2010"));
}

void TestDataset::fluentSpeechCommands()
{
    const fs::path r = path("fluent");
    const core::Dataset d = core::importDataset(r);
    QCOMPARE(labelList(d),
        QStringList(
            { "activate-lights-kitchen", "change language-none-none", "decrease-volume-none" }));
    QCOMPARE(d.clips.size(), std::size_t(12));
    const QStringList clips = clipList(d, r / "wavs" / "speakers");
    QCOMPARE(clips.mid(0, 3),
        QStringList({ "spkA/a0.wav activate-lights-kitchen train 0 spkA",
            "spkA/c1.wav change language-none-none train 0 spkA",
            "spkA/d2.wav decrease-volume-none train 0 spkA" }));
    QCOMPARE(clips[6], QString("spkC/a0.wav activate-lights-kitchen validation 0 spkC"));
    QCOMPARE(clips[11], QString("spkD/d2.wav decrease-volume-none test 0 spkD"));
    QCOMPARE(skippedList(d, r),
        QStringList({ "wavs/speakers/spkD/gone.wav: missing file (test_data.csv line 5)" }));
}

void TestDataset::audioFolderWithLabels()
{
    const fs::path r = path("audiofolder-labels");
    const core::Dataset d = core::importDataset(r);
    QCOMPARE(d.layout, core::DatasetLayout::AudioFolder);
    QCOMPARE(labelList(d), QStringList({ "no", "yes" }));
    QCOMPARE(clipList(d, r),
        QStringList({ "train/0001.wav yes train 0 ", "train/0002.wav no train 0 ",
            "test/0003.wav yes test 0 ", "0004.wav no unassigned 0 " }));
    QVERIFY(d.skipped.empty());
}

void TestDataset::audioFolderWithoutLabels()
{
    const fs::path r = path("audiofolder-folders");
    const core::Dataset d = core::importDataset(r);
    QCOMPARE(labelList(d), QStringList({ "cat", "dog" }));
    QCOMPARE(clipList(d, r),
        QStringList({ "train/cat/1.wav cat train 0 ", "train/dog/2.wav dog train 0 ",
            "test/cat/4.wav cat test 0 " }));
    QCOMPARE(skippedList(d, r),
        QStringList({ "train/3.wav: no label: not in a class folder (metadata.csv line 4)" }));
}

void TestDataset::summary()
{
    const core::ImportSummary s = core::summarize(core::importDataset(path("folders")));
    QCOMPARE(s.classes.size(), std::size_t(3));
    QCOMPARE(s.clips, 7);
    QVERIFY(std::abs(s.seconds - 1.45) < 1e-3);
    QCOMPARE(s.skipped, 5);
    QCOMPARE(s.sampleRates, (std::map<int, int> { { 16000, 6 }, { 44100, 1 } }));
    const double seconds[] = { 0.2, 0.7, 0.55 };
    const int clips[] = { 1, 3, 3 };
    for (std::size_t c = 0; c < 3; ++c) {
        QCOMPARE(s.classes[c].clips, clips[c]);
        QVERIFY2(std::abs(s.classes[c].seconds - seconds[c]) < 1e-3, s.classes[c].label.c_str());
        QCOMPARE(s.classes[c].perSplit,
            (std::map<core::Split, int> { { core::Split::Unassigned, clips[c] } }));
    }
    QCOMPARE(QString::fromStdString(s.classes[1].label), QString("cat"));

    core::Dataset commands = core::importDataset(path("speech-commands"));
    const core::ImportSummary sc = core::summarize(commands);
    using S = core::Split;
    QCOMPARE(sc.classes[2].perSplit,
        (std::map<S, int> { { S::Train, 3 }, { S::Validation, 1 }, { S::Test, 1 } }));
    QCOMPARE(sc.skipped, 2);
    QVERIFY(std::abs(sc.seconds - 1.3) < 1e-3);
}

void TestDataset::overrideLayout()
{
    // Speech Commands read as plain class folders: the lists and speakers are ignored.
    const fs::path r = path("speech-commands");
    const core::Dataset d = core::importDataset(r, { .layout = core::DatasetLayout::Folders });
    QCOMPARE(d.layout, core::DatasetLayout::Folders);
    QCOMPARE(labelList(d), QStringList({ "no", "up", "yes" }));
    QCOMPARE(d.clips.size(), std::size_t(13));
    for (const auto &clip : d.clips) {
        QCOMPARE(clip.split, core::Split::Unassigned);
        QVERIFY(clip.group.empty());
    }
    QCOMPARE(d.noise.size(), std::size_t(2));
    QVERIFY(d.skipped.empty());

    // A layout that does not fit says what it missed.
    auto error =
        captureError([&] { core::importDataset(r, { .layout = core::DatasetLayout::Esc50 }); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Format);
    QVERIFY2(QString(error->what()).contains("meta/esc50.csv"), error->what());
    QVERIFY2(QString(error->what()).contains(qs(r.string())), error->what());
    error = captureError([&] { core::importDataset(r, { .layout = core::DatasetLayout::Csv }); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Format);
    QVERIFY2(QString(error->what()).contains("manifest.csv"), error->what());
}

void TestDataset::importErrors()
{
    auto error = captureError([&] { core::importDataset(path("no-such-dataset")); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Io);
    QVERIFY(QString(error->what()).contains("no-such-dataset"));

    // Nothing usable: every clip broken.
    const fs::path r = path("all-broken");
    writeText(r / "a" / "x.wav", "garbage garbage garbage garbage");
    writeTone(r / "b" / "y.wav", 0.002);
    error = captureError([&] { core::importDataset(r); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString(error->what()).contains(qs(r.string())), error->what());
    QVERIFY2(QString(error->what()).contains("2 files skipped"), error->what());
}

void TestDataset::withoutProbing()
{
    const fs::path r = path("folders");
    const core::Dataset d = core::importDataset(r, { .probe = false });
    // Broken files are trusted; only the listing rules apply.
    QCOMPARE(d.clips.size(), std::size_t(10));
    QCOMPARE(skippedList(d, r),
        QStringList({ "dog/cover.jpg: not an audio file", "loose.wav: not in a class folder" }));
    for (const auto &clip : d.clips) {
        QCOMPARE(clip.seconds, 0.0);
        QCOMPARE(clip.sampleRate, 0);
    }
}

void TestDataset::looseFiles()
{
    // Dropped files: labelled by their folder, or all by the given label; stray and broken
    // files are skipped with their reasons.
    const fs::path r = path("loose");
    writeTone(r / "knock" / "k1.wav", 0.2);
    writeTone(r / "knock" / "k2.wav", 0.3, 44100);
    writeTone(r / "clap" / "c1.wav", 0.2);
    writeText(r / "clap" / "notes.txt", "not audio");
    writeText(r / "clap" / "broken.wav", "garbage");
    const std::vector<fs::path> files = { r / "knock" / "k1.wav", r / "knock" / "k2.wav",
        r / "clap" / "c1.wav", r / "clap" / "notes.txt", r / "clap" / "broken.wav",
        r / "missing.wav" };
    const core::Dataset byFolder = core::importFiles(files);
    QCOMPARE(byFolder.labels, (std::vector<std::string> { "clap", "knock" }));
    QCOMPARE(byFolder.clips.size(), std::size_t(3));
    QCOMPARE(byFolder.clips[1].sampleRate, 44100);
    QCOMPARE(byFolder.skipped.size(), std::size_t(3));
    QCOMPARE(byFolder.skipped[0].reason, std::string("not an audio file"));
    QVERIFY(byFolder.skipped[1].reason.starts_with("unreadable: "));
    QCOMPARE(byFolder.skipped[2].reason, std::string("missing file"));

    const core::Dataset labelled = core::importFiles(files, "door");
    QCOMPARE(labelled.labels, (std::vector<std::string> { "door" }));
    QCOMPARE(labelled.clips.size(), std::size_t(3));

    try {
        core::importFiles({ r / "clap" / "notes.txt" });
        QFAIL("a drop without audio must be refused");
    } catch (const core::Error &e) {
        QVERIFY2(QString(e.what()).contains("no usable audio clip"), e.what());
        QVERIFY2(QString(e.what()).contains("not an audio file"), e.what());
    }
    QVERIFY(core::hasAudioExtension("x/Y.FLAC"));
    QVERIFY(!core::hasAudioExtension("x/y.txt"));
}

void TestDataset::mergeDatasets()
{
    core::Dataset into = memoryDataset({ 2, 1 }); // class0, class1
    into.root = "first";
    into.noise = { "hum.wav" };
    into.skipped = { { "bad.wav", "unreadable: x" } };
    core::Dataset from;
    from.layout = core::DatasetLayout::Csv;
    from.root = "second";
    from.labels = { "zebra", "class1", "ant" }; // a new one, a known one, a new one
    for (int label : { 2, 1, 0, 1 }) {
        core::Clip clip;
        clip.file = "from" + std::to_string(label) + ".wav";
        clip.label = label;
        clip.split = core::Split::Test;
        from.clips.push_back(clip);
    }
    from.noise = { "rain.wav" };
    from.skipped = { { "short.wav", "too short" }, { "gone.wav", "missing file" } };

    core::mergeDatasets(into, from);
    // Known labels keep their index; new ones are appended in `from`'s order, not sorted.
    QCOMPARE(labelList(into), QStringList({ "class0", "class1", "zebra", "ant" }));
    QCOMPARE(clipList(into, {}),
        QStringList({ "c0_0.wav class0 unassigned 0 ", "c0_1.wav class0 unassigned 0 ",
            "c1_0.wav class1 unassigned 0 ", "from2.wav ant test 0 ", "from1.wav class1 test 0 ",
            "from0.wav zebra test 0 ", "from1.wav class1 test 0 " }));
    QCOMPARE(fileList(into.noise, {}), QStringList({ "hum.wav", "rain.wav" }));
    QCOMPARE(skippedList(into, {}),
        QStringList(
            { "bad.wav: unreadable: x", "short.wav: too short", "gone.wav: missing file" }));
    // The first dataset's layout and root stay.
    QCOMPARE(into.layout, core::DatasetLayout::Folders);
    QCOMPARE(into.root, fs::path("first"));
}

void TestDataset::mergeIntoEmpty()
{
    core::Dataset from = memoryDataset({ 1, 2 });
    from.layout = core::DatasetLayout::Esc50;
    from.root = "esc";
    from.noise = { "hum.wav" };
    from.skipped = { { "bad.wav", "unreadable: x" } };
    core::Dataset into;
    core::mergeDatasets(into, from);
    QCOMPARE(into.layout, core::DatasetLayout::Esc50);
    QCOMPARE(into.root, fs::path("esc"));
    QCOMPARE(into.labels, from.labels);
    QCOMPARE(clipList(into, {}), clipList(from, {}));
    QCOMPARE(into.noise, from.noise);
    QCOMPARE(skippedList(into, {}), skippedList(from, {}));

    // A dataset with only skipped files is not empty: labels and clips come in after it.
    core::Dataset skippedOnly;
    skippedOnly.skipped = { { "x.txt", "not an audio file" } };
    core::mergeDatasets(skippedOnly, from);
    QCOMPARE(skippedOnly.layout, core::DatasetLayout::Auto);
    QCOMPARE(labelList(skippedOnly), QStringList({ "class0", "class1" }));
    QCOMPARE(skippedList(skippedOnly, {}),
        QStringList({ "x.txt: not an audio file", "bad.wav: unreadable: x" }));

    // Nor is one with only noise (a dropped _background_noise_ folder): its noise stays.
    core::Dataset noiseOnly;
    noiseOnly.noise = { "rain.wav" };
    core::mergeDatasets(noiseOnly, from);
    QCOMPARE(noiseOnly.noise, (std::vector<fs::path> { "rain.wav", "hum.wav" }));
    QCOMPARE(labelList(noiseOnly), QStringList({ "class0", "class1" }));
}

void TestDataset::importPaths()
{
    const fs::path folders = path("folders");
    const fs::path knock = path("loose") / "knock" / "k1.wav";
    writeTone(knock, 0.2);
    const core::Dataset folderOnly = core::importDataset(folders);

    // A folder and one loose file: the file is labelled `looseLabel` and merged last.
    std::string description;
    core::Dataset d =
        core::importPaths({ folders, knock }, core::DatasetLayout::Auto, "door", &description);
    QCOMPARE(qs(description), qs(folders.string() + " (folders), " + knock.string()));
    QCOMPARE(d.layout, core::DatasetLayout::Folders);
    QCOMPARE(labelList(d), QStringList({ "bird", "cat", "dog", "door" }));
    QCOMPARE(d.clips.size(), folderOnly.clips.size() + 1);
    QCOMPARE(d.clips.back().file, knock);
    QCOMPARE(d.clips.back().label, 3);
    QCOMPARE(skippedList(d, folders), skippedList(folderOnly, folders));
    QCOMPARE(d.noise, folderOnly.noise);

    // A manifest with an upper-case suffix goes through importDataset; several loose files are
    // counted, and without a label each is named after its folder.
    const fs::path tsv = path("tsv") / "LIST.TSV";
    fs::copy_file(path("tsv") / "list.tsv", tsv, fs::copy_options::overwrite_existing);
    const fs::path clap = path("loose") / "clap" / "c1.wav";
    writeTone(clap, 0.2);
    d = core::importPaths({ knock, tsv, clap }, core::DatasetLayout::Auto, {}, &description);
    QCOMPARE(qs(description), qs(tsv.string() + " (csv), 2 audio files"));
    QCOMPARE(d.layout, core::DatasetLayout::Csv);
    QCOMPARE(labelList(d), QStringList({ "1", "2", "10", "clap", "knock" }));
    QCOMPARE(d.clips.size(), std::size_t(18 + 2));

    // A forced layout applies to folders and manifests; the description may be left out.
    d = core::importPaths({ path("csv") }, core::DatasetLayout::Csv, {});
    QCOMPARE(d.layout, core::DatasetLayout::Csv);
    QCOMPARE(d.root, path("csv"));
}

void TestDataset::importPathsErrors()
{
    // One missing path fails the whole import, naming it.
    const fs::path missing = path("no-such-drop.wav");
    std::string description = "untouched";
    auto error = captureError([&] {
        core::importPaths(
            { path("folders"), missing }, core::DatasetLayout::Auto, {}, &description);
    });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Io);
    QCOMPARE(error->reason(), std::string("no such file or folder"));
    QVERIFY2(QString(error->what()).contains(qs(missing.string())), error->what());
    QCOMPARE(description, std::string("untouched"));

    error = captureError([&] { core::importPaths({}, core::DatasetLayout::Auto, {}); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QCOMPARE(error->reason(), std::string("nothing to import"));

    // Loose files that are no audio: importFiles' error.
    const fs::path notes = path("loose-notes") / "notes.txt";
    writeText(notes, "not audio");
    error = captureError([&] { core::importPaths({ notes }, core::DatasetLayout::Auto, {}); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString(error->what()).contains("no usable audio clip"), error->what());

    // A forced folder layout on a manifest: importDataset's error.
    error = captureError(
        [&] { core::importPaths({ path("tsv") / "list.tsv" }, core::DatasetLayout::Esc50, {}); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString(error->what()).contains("needs a folder"), error->what());
}

void TestDataset::splitStratified()
{
    const std::vector<int> sizes = { 1, 2, 5, 20, 37 };
    using S = core::Split;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        core::Dataset d = memoryDataset(sizes);
        core::assignSplits(d, { .seed = seed, .validationFraction = 0.1, .testFraction = 0.2 });
        const auto counts = countsOf(d);
        // round(f * n), at least 1 from 2 clips on, never the last training clip.
        const int validation[] = { 0, 1, 1, 2, 4 };
        const int test[] = { 0, 0, 1, 4, 7 };
        for (std::size_t c = 0; c < sizes.size(); ++c) {
            const auto &n = counts[c];
            QCOMPARE(n.contains(S::Validation) ? n.at(S::Validation) : 0, validation[c]);
            QCOMPARE(n.contains(S::Test) ? n.at(S::Test) : 0, test[c]);
            QCOMPARE(n.at(S::Train), sizes[c] - validation[c] - test[c]);
            QVERIFY(!n.contains(S::Unassigned));
        }
    }
    // The defaults: 10 % validation, no test.
    core::Dataset d = memoryDataset({ 30, 3 });
    core::assignSplits(d);
    const auto counts = countsOf(d);
    QCOMPARE(counts[0].at(S::Validation), 3);
    QCOMPARE(counts[1].at(S::Validation), 1);
    QVERIFY(!counts[0].contains(S::Test));
}

void TestDataset::splitGroupsNeverStraddle()
{
    using S = core::Split;
    int validation = 0;
    int total = 0;
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        core::Dataset d = speakerDataset();
        core::assignSplits(d, { .seed = seed, .validationFraction = 0.1, .testFraction = 0.1 });
        QVERIFY2(!groupsStraddle(d), qPrintable(QString("seed %1").arg(seed)));
        const auto counts = countsOf(d);
        for (std::size_t c = 0; c < counts.size(); ++c) {
            QVERIFY(counts[c].at(S::Train) >= 1);
            QVERIFY2(counts[c].contains(S::Validation), qPrintable(QString("seed %1").arg(seed)));
            QVERIFY2(counts[c].contains(S::Test), qPrintable(QString("seed %1").arg(seed)));
            validation += counts[c].at(S::Validation);
        }
        total += int(d.clips.size());
    }
    // Whole speakers move, so the fractions are approximate.
    const double fraction = double(validation) / total;
    QVERIFY2(fraction > 0.07 && fraction < 0.16, qPrintable(QString::number(fraction)));
}

void TestDataset::splitWithinClassGroups()
{
    // ESC-50-like: source recordings of 1-5 clips inside each class (no folds used).
    core::Dataset d = memoryDataset({ 40, 40, 12 });
    core::Rng rng { 3 };
    std::size_t i = 0;
    for (int source = 0; i < d.clips.size(); ++source) {
        const std::size_t size = 1 + rng.below(5);
        for (std::size_t k = 0; k < size && i < d.clips.size(); ++k, ++i) {
            if (k > 0 && d.clips[i].label != d.clips[i - 1].label)
                break;
            d.clips[i].group = "src" + std::to_string(source);
        }
    }
    using S = core::Split;
    for (std::uint64_t seed = 0; seed < 100; ++seed) {
        core::assignSplits(d, { .seed = seed, .validationFraction = 0.2 });
        QVERIFY(!groupsStraddle(d));
        const auto counts = countsOf(d);
        // At least one, at most the target: groups that would overshoot are passed over.
        QVERIFY(counts[0].at(S::Validation) >= 1 && counts[0].at(S::Validation) <= 8);
        QVERIFY(counts[2].at(S::Validation) >= 1);
        QVERIFY(counts[2].at(S::Train) >= 1);
    }
}

void TestDataset::splitDeterministic()
{
    core::Dataset a = speakerDataset();
    core::Dataset b = speakerDataset();
    core::assignSplits(a, { .seed = 5 });
    core::assignSplits(b, { .seed = 5 });
    QVERIFY(splitsOf(a) == splitsOf(b));
    core::Dataset c = speakerDataset();
    core::assignSplits(c, { .seed = 6 });
    QVERIFY(splitsOf(a) != splitsOf(c));

    // Calling it again with other options and back gives the first result.
    const auto first = splitsOf(a);
    core::assignSplits(a, { .seed = 99, .validationFraction = 0.3, .testFraction = 0.2 });
    QVERIFY(splitsOf(a) != first);
    core::assignSplits(a, { .seed = 5 });
    QVERIFY(splitsOf(a) == first);

    // A generated dataset on disk too.
    core::Dataset u1 = core::importDataset(path("tsv") / "list.tsv");
    core::Dataset u2 = u1;
    core::assignSplits(u1, { .seed = 1, .validationFraction = 0.2 });
    core::assignSplits(u2, { .seed = 2, .validationFraction = 0.2 });
    QVERIFY(splitsOf(u1) != splitsOf(u2));
}

void TestDataset::splitKeepsLayoutSplits()
{
    core::Dataset d = core::importDataset(path("speech-commands"));
    const auto imported = splitsOf(d);
    core::assignSplits(d, { .seed = 3, .validationFraction = 0.5, .testFraction = 0.3 });
    QVERIFY(splitsOf(d) == imported);

    // Only train and test folders: validation is drawn from the training clips.
    const fs::path r = path("train-test");
    for (const char *file : { "train/a/1.wav", "train/a/2.wav", "train/a/3.wav", "train/a/4.wav",
             "train/b/1.wav", "train/b/2.wav", "test/a/1.wav", "test/b/1.wav" })
        writeTone(r / file, 0.05);
    core::Dataset tt = core::importDataset(r);
    core::assignSplits(tt, { .testFraction = 0.5 });
    using S = core::Split;
    const auto counts = countsOf(tt);
    QCOMPARE(
        counts[0], (std::map<S, int> { { S::Train, 3 }, { S::Validation, 1 }, { S::Test, 1 } }));
    QCOMPARE(
        counts[1], (std::map<S, int> { { S::Train, 1 }, { S::Validation, 1 }, { S::Test, 1 } }));
    for (std::size_t i = 0; i < tt.clips.size(); ++i) {
        if (tt.clips[i].layoutSplit == S::Test)
            QCOMPARE(tt.clips[i].split, S::Test);
    }
}

void TestDataset::splitFolds()
{
    using S = core::Split;
    // ESC-50: validation fold 4, test fold 5 by default, as in the paper.
    core::Dataset esc = core::importDataset(path("esc50"));
    core::assignSplits(esc, { .testFraction = 0.3 });
    for (const auto &clip : esc.clips)
        QCOMPARE(clip.split, clip.fold == 5 ? S::Test : clip.fold == 4 ? S::Validation : S::Train);
    core::assignSplits(esc, { .validationFold = 1, .testFold = 2 });
    for (const auto &clip : esc.clips)
        QCOMPARE(clip.split, clip.fold == 2 ? S::Test : clip.fold == 1 ? S::Validation : S::Train);

    // UrbanSound8K: test fold 10; validation drawn from the training folds by source recording.
    core::Dataset us = core::importDataset(path("urbansound8k"));
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        core::assignSplits(us, { .seed = seed, .validationFraction = 0.1 });
        QVERIFY(!groupsStraddle(us));
        const auto counts = countsOf(us);
        for (const auto &n : counts) {
            QCOMPARE(
                n, (std::map<S, int> { { S::Train, 16 }, { S::Validation, 2 }, { S::Test, 2 } }));
        }
        for (const auto &clip : us.clips) {
            if (clip.fold == 10)
                QCOMPARE(clip.split, S::Test);
        }
    }
    core::assignSplits(us, { .validationFold = 3 });
    for (const auto &clip : us.clips)
        QCOMPARE(clip.split, clip.fold == 10 ? S::Test : clip.fold == 3 ? S::Validation : S::Train);

    // A fold the dataset does not have, or one fold for both.
    auto error = captureError([&] { core::assignSplits(esc, { .testFold = 6 }); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString(error->what()).contains("fold 6"), error->what());
    error = captureError([&] { core::assignSplits(esc, { .validationFold = 5 }); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

void TestDataset::splitCsvFolds()
{
    using S = core::Split;
    core::Dataset d = core::importDataset(path("tsv") / "list.tsv");
    // No fold given: the folds are ignored, the split is seeded and stratified.
    core::assignSplits(d, { .validationFraction = 0.2 });
    for (const auto &n : countsOf(d))
        QCOMPARE(n, (std::map<S, int> { { S::Train, 5 }, { S::Validation, 1 } }));

    // Folds given: they decide, and validation is drawn from the training folds when none.
    core::assignSplits(d, { .validationFold = 1, .testFold = 3 });
    for (const auto &clip : d.clips)
        QCOMPARE(clip.split, clip.fold == 3 ? S::Test : clip.fold == 1 ? S::Validation : S::Train);
    core::assignSplits(d, { .validationFraction = 0.5, .testFold = 2 });
    for (const auto &n : countsOf(d))
        QCOMPARE(n, (std::map<S, int> { { S::Train, 2 }, { S::Validation, 2 }, { S::Test, 2 } }));
    for (const auto &clip : d.clips)
        QCOMPARE(clip.split == S::Test, clip.fold == 2);

    // Folds on a dataset without any.
    core::Dataset plain = memoryDataset({ 4, 4 });
    const auto error = captureError([&] { core::assignSplits(plain, { .testFold = 1 }); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

void TestDataset::fewShot()
{
    using S = core::Split;
    const std::vector<int> sizes = { 2, 4, 10, 30 };
    core::Dataset full = memoryDataset(sizes);
    core::assignSplits(full, { .seed = 4, .validationFraction = 0.2, .testFraction = 0.2 });
    core::Dataset few = memoryDataset(sizes);
    core::assignSplits(
        few, { .seed = 4, .validationFraction = 0.2, .testFraction = 0.2, .fewShot = 3 });
    const auto fullCounts = countsOf(full);
    const auto fewCounts = countsOf(few);
    for (std::size_t c = 0; c < sizes.size(); ++c) {
        const int train = fullCounts[c].at(S::Train);
        QCOMPARE(fewCounts[c].at(S::Train), std::min(3, train));
        const int excluded =
            fewCounts[c].contains(S::Unassigned) ? fewCounts[c].at(S::Unassigned) : 0;
        QCOMPARE(excluded, train - std::min(3, train));
    }
    // Validation and test are those of the full split; kept clips were training clips.
    for (std::size_t i = 0; i < few.clips.size(); ++i) {
        if (few.clips[i].split == S::Train || few.clips[i].split == S::Unassigned) {
            QCOMPARE(full.clips[i].split, S::Train);
        } else {
            QCOMPARE(few.clips[i].split, full.clips[i].split);
        }
    }
    // Seeded.
    core::Dataset again = memoryDataset(sizes);
    core::assignSplits(
        again, { .seed = 4, .validationFraction = 0.2, .testFraction = 0.2, .fewShot = 3 });
    QVERIFY(splitsOf(again) == splitsOf(few));
    core::Dataset other = memoryDataset({ 40 });
    core::Dataset other2 = other;
    core::assignSplits(other, { .seed = 1, .validationFraction = 0.0, .fewShot = 5 });
    core::assignSplits(other2, { .seed = 2, .validationFraction = 0.0, .fewShot = 5 });
    QCOMPARE(countsOf(other)[0].at(S::Train), 5);
    QVERIFY(splitsOf(other) != splitsOf(other2));
}

void TestDataset::classWithoutTrainingClip()
{
    // Class c exists only in the test folder.
    core::Dataset d = core::importDataset(path("folder-splits"));
    const auto error = captureError([&] { core::assignSplits(d); });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString(error->what()).contains("class 'c'"), error->what());
    QVERIFY2(QString(error->what()).contains("1 test"), error->what());

    // A class whose every file is unreadable stays a class, so the split names it instead of
    // a model silently losing it.
    const fs::path r = path("one-class-unreadable");
    writeTone(r / "a" / "1.wav", 0.2);
    writeTone(r / "a" / "2.wav", 0.2);
    writeText(r / "b" / "1.wav", "garbage garbage garbage garbage");
    core::Dataset broken = core::importDataset(r);
    QCOMPARE(broken.labels, (std::vector<std::string> { "a", "b" }));
    QCOMPARE(int(broken.clips.size()), 2);
    QCOMPARE(int(broken.skipped.size()), 1);
    const auto none = captureError([&] { core::assignSplits(broken); });
    QVERIFY(none.has_value());
    QVERIFY2(QString(none->what()).contains("class 'b'"), none->what());
}

void TestDataset::splitOptionsRejected_data()
{
    QTest::addColumn<double>("validation");
    QTest::addColumn<double>("test");
    QTest::addColumn<int>("fewShot");
    QTest::addRow("validation fraction 1") << 1.0 << 0.0 << 0;
    QTest::addRow("negative validation fraction") << -0.1 << 0.0 << 0;
    QTest::addRow("fractions add up to 1") << 0.5 << 0.5 << 0;
    QTest::addRow("NaN test fraction") << 0.1 << std::nan("") << 0;
    QTest::addRow("negative few-shot") << 0.1 << 0.0 << -1;
}

void TestDataset::splitOptionsRejected()
{
    QFETCH(double, validation);
    QFETCH(double, test);
    QFETCH(int, fewShot);
    core::Dataset d = memoryDataset({ 10, 10 });
    const auto error = captureError([&] {
        core::assignSplits(
            d, { .validationFraction = validation, .testFraction = test, .fewShot = fewShot });
    });
    QVERIFY(error.has_value());
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

void TestDataset::clipsOfSplit()
{
    core::Dataset d = core::importDataset(path("speech-commands"));
    const auto validation = core::clipsOf(d, core::Split::Validation);
    QCOMPARE(validation.size(), std::size_t(3));
    QCOMPARE(qs(validation[0].file.filename().string()), QString("bbbb2222_nohash_0.wav"));
    QCOMPARE(validation[0].label, 0);
    QCOMPARE(validation[2].label, 2);
    QCOMPARE(core::clipsOf(d, core::Split::Train).size(), std::size_t(7));
    QVERIFY(core::clipsOf(d, core::Split::Unassigned).empty());
}

QTEST_GUILESS_MAIN(TestDataset)
#include "tst_dataset.moc"
