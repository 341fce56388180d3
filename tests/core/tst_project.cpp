// SPDX-License-Identifier: MIT
// core/project: create/save/load round trip of every field, relative paths surviving a moved
// folder, errors naming project.json, adding imported datasets (duplicates skipped), the
// training manifest re-imported with the same labels and splits and trims rendered with the
// right samples, recording paths, run folders, class counts and balance warnings.
#include "audio/audio_file.h"
#include "data/dataset.h"
#include "error.h"
#include "project/project.h"
#include "test_support.h"

#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

using namespace astpeft;
namespace fs = std::filesystem;

Q_DECLARE_METATYPE(core::ErrorKind)

namespace {

using test::captureError;

// A tone whose frequency tells the files apart (so their bytes differ).
void writeTone(const fs::path &path, double seconds, int rate = 16000, int channels = 1,
    double frequency = 440.0)
{
    fs::create_directories(path.parent_path());
    const std::size_t frames = std::size_t(std::llround(seconds * rate));
    std::vector<float> samples(frames * std::size_t(channels));
    for (std::size_t i = 0; i < frames; ++i) {
        for (int c = 0; c < channels; ++c) {
            samples[i * std::size_t(channels) + std::size_t(c)] = float(
                (0.3 / (c + 1)) * std::sin(2.0 * std::numbers::pi * frequency * double(i) / rate));
        }
    }
    core::writeAudio(path, samples, rate, channels);
}

void writeText(const fs::path &path, const std::string &text)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

std::string readText(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

fs::path tmp(const QTemporaryDir &dir)
{
    return fs::path(dir.path().toStdString());
}

core::ProjectClip makeClip(core::Project &project, const fs::path &file, const std::string &label)
{
    core::ProjectClip clip;
    clip.id = project.nextClipId++;
    clip.file = file;
    clip.label = label;
    return clip;
}

// A project whose every field differs from its default.
core::Project fullProject(const fs::path &dir, const fs::path &outside)
{
    core::Project p = core::createProject(dir, "Birds & words");
    p.backbone = "models/ast-tiny";
    p.classes = { "yes", "no, maybe", "über" };
    core::ProjectClip a = makeClip(p, "recordings/yes/yes_001.wav", "yes");
    a.split = core::Split::Validation;
    a.fold = 3;
    a.group = "speaker 1";
    a.trimStart = 0.125;
    a.trimEnd = 0.75;
    a.seconds = 1.0;
    a.sampleRate = 16000;
    a.channels = 1;
    a.recorded = true;
    core::ProjectClip b = makeClip(p, outside / "no.flac", "no, maybe");
    b.split = core::Split::Test;
    b.seconds = 2.5;
    b.sampleRate = 44100;
    b.channels = 2;
    core::ProjectClip c = makeClip(p, "data/über/ü 1.wav", "über");
    c.trimStart = 0.1 + 0.2; // 0.30000000000000004: doubles must round-trip exactly
    p.clips = { a, b, c };
    p.nextClipId = 42;
    p.noise = { "noise/fan.wav", outside / "rain.wav" };
    p.imports = { "/data/words (folders)", "/data/esc (esc50)" };
    p.peft = core::paperSetting(core::PeftMethod::Lora);
    p.peft.lora.rank = 4;
    p.peft.lora.alpha = 8.5;
    p.peft.lora.targets = { 'q', 'k', 'v' };
    p.peft.init = core::PeftInit::Paper;
    p.budget = "0.3%";
    p.training.epochs = 3;
    p.training.batchSize = 4;
    p.training.learningRate = 1e-3;
    p.training.split.validationFraction = 0.2;
    p.training.split.seed = 77;
    p.training.augment.freqMaskParam = 24;
    p.training.augment.noiseProbability = 0.5;
    p.training.patience = 2;
    p.training.device = "cpu";
    p.runs = { "runs/20240101-120000-lora", "runs/20240102-120000-bitfit" };
    return p;
}

QString qs(const std::string &text)
{
    return QString::fromStdString(text);
}

} // namespace

class TestProject : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void createMakesTheFolders()
    {
        QTemporaryDir dir;
        const fs::path root = tmp(dir) / "new" / "proj";
        const core::Project p = core::createProject(root, "");
        QCOMPARE(qs(p.name), QString("proj"));
        QVERIFY(p.dir.is_absolute());
        QVERIFY(fs::is_directory(root / "recordings"));
        QVERIFY(fs::is_directory(root / "runs"));
        QVERIFY(core::isProjectDir(root));
        const core::Project back = core::loadProject(root);
        QCOMPARE(core::projectJson(back), core::projectJson(p));
    }

    void createRefusesUsedFolders()
    {
        QTemporaryDir dir;
        writeText(tmp(dir) / "other" / "notes.txt", "mine");
        auto error = captureError([&] { core::createProject(tmp(dir) / "other", "x"); });
        QVERIFY(error);
        QCOMPARE(error->kind(), core::ErrorKind::Usage);
        QVERIFY2(qs(error->what()).contains("not empty"), error->what());
        QVERIFY(!fs::exists(tmp(dir) / "other" / "project.json"));

        core::createProject(tmp(dir) / "p", "x");
        error = captureError([&] { core::createProject(tmp(dir) / "p", "y"); });
        QVERIFY(error);
        QCOMPARE(error->file().filename().string(), std::string("project.json"));
        QCOMPARE(qs(core::loadProject(tmp(dir) / "p").name), QString("x"));

        writeText(tmp(dir) / "file", "x");
        QVERIFY(captureError([&] { core::createProject(tmp(dir) / "file", "x"); }));
    }

    void roundTripOfEveryField()
    {
        QTemporaryDir dir;
        const fs::path root = tmp(dir) / "proj";
        const core::Project p = fullProject(root, tmp(dir) / "outside");
        core::saveProject(p);
        const core::Project back = core::loadProject(root);

        QCOMPARE(back.version, core::kProjectVersion);
        QCOMPARE(back.dir, root);
        QCOMPARE(qs(back.name), qs(p.name));
        QCOMPARE(back.backbone, p.backbone);
        QCOMPARE(back.classes, p.classes);
        QCOMPARE(back.clips.size(), p.clips.size());
        for (std::size_t i = 0; i < p.clips.size(); ++i)
            QVERIFY2(back.clips[i] == p.clips[i], qPrintable(QString::number(i)));
        QCOMPARE(back.clips[2].trimStart, 0.1 + 0.2);
        QCOMPARE(back.noise, p.noise);
        QCOMPARE(back.imports, p.imports);
        QCOMPARE(core::methodName(back.peft.method), std::string("lora"));
        QCOMPARE(back.peft.lora.rank, 4);
        QCOMPARE(back.peft.lora.alpha, 8.5);
        QCOMPARE(back.peft.lora.targets, (std::vector<char> { 'q', 'k', 'v' }));
        QCOMPARE(back.peft.init, core::PeftInit::Paper);
        QCOMPARE(qs(back.budget), QString("0.3%"));
        QCOMPARE(core::trainOptionsJson(back.training), core::trainOptionsJson(p.training));
        QCOMPARE(back.training.epochs, 3);
        QCOMPARE(back.training.split.seed, std::uint64_t(77));
        QCOMPARE(back.training.augment.noiseProbability, 0.5);
        QCOMPARE(back.runs, p.runs);
        QCOMPARE(back.nextClipId, std::uint64_t(42));
        // Nothing else: the whole text is identical.
        QCOMPARE(core::projectJson(back), core::projectJson(p));
    }

    void absolutePathsInsideAreStoredRelative()
    {
        QTemporaryDir dir;
        const fs::path root = tmp(dir) / "proj";
        core::Project p = core::createProject(root, "p");
        p.backbone = root / "models" / "m";
        p.classes = { "a" };
        p.clips.push_back(makeClip(p, root / "recordings" / "a" / "a_001.wav", "a"));
        p.noise = { root / "noise" / "n.wav" };
        p.runs = { root / "runs" / "r1" };
        core::saveProject(p);
        const std::string text = readText(root / "project.json");
        QVERIFY2(text.find(root.string()) == std::string::npos, text.c_str());
        const core::Project back = core::loadProject(root);
        QCOMPARE(back.backbone, fs::path("models/m"));
        QCOMPARE(back.clips[0].file, fs::path("recordings/a/a_001.wav"));
        QCOMPARE(back.noise[0], fs::path("noise/n.wav"));
        QCOMPARE(back.runs[0], fs::path("runs/r1"));
        QCOMPARE(core::clipPath(back, back.clips[0]), root / "recordings" / "a" / "a_001.wav");
    }

    void relativePathsSurviveMovingTheFolder()
    {
        QTemporaryDir dir;
        const fs::path root = tmp(dir) / "before";
        const fs::path outside = tmp(dir) / "shared" / "x.wav";
        writeTone(outside, 0.5);
        core::Project p = core::createProject(root, "p");
        const fs::path recording = core::newRecordingPath(p, "yes");
        writeTone(recording, 0.5);
        p.classes = { "yes" };
        p.clips.push_back(makeClip(p, core::storedPath(p, recording), "yes"));
        p.clips.push_back(makeClip(p, core::storedPath(p, outside), "yes"));
        p.backbone = core::storedPath(p, root / "models" / "m");
        core::saveProject(p);

        const fs::path moved = tmp(dir) / "elsewhere" / "after";
        fs::create_directories(moved.parent_path());
        fs::rename(root, moved);
        const core::Project back = core::loadProject(moved);
        QCOMPARE(back.dir, moved);
        QCOMPARE(core::clipPath(back, back.clips[0]), moved / "recordings" / "yes" / "yes_001.wav");
        QVERIFY(fs::is_regular_file(core::clipPath(back, back.clips[0])));
        QCOMPARE(core::clipPath(back, back.clips[1]), outside);
        QCOMPARE(core::resolvePath(back, back.backbone), moved / "models" / "m");
        // The manifest of the moved project reads the moved files.
        const core::Dataset d = core::importDataset(core::writeTrainingManifest(back));
        QCOMPARE(int(d.clips.size()), 2);
        QVERIFY(d.skipped.empty());
    }

    void loadErrorsNameTheFile_data()
    {
        QTest::addColumn<QString>("text"); // empty: no project.json at all
        QTest::addColumn<core::ErrorKind>("kind");
        QTest::addColumn<QString>("message");
        QTest::addRow("missing") << QString() << core::ErrorKind::Io << "missing";
        QTest::addRow("not JSON") << "{\"format\": \"astpeft-project\"," << core::ErrorKind::Format
                                  << "not valid JSON";
        // nlohmann::json's out_of_range, not a parse_error: it escaped as a foreign exception
        // (the same defect fuzz_adapter_config found in the adapter loader).
        QTest::addRow("number out of range")
            << "{\"format\": \"astpeft-project\", \"version\": 1e400}" << core::ErrorKind::Format
            << "not valid JSON";
        QTest::addRow("other format")
            << "{\"format\": \"astpeft-train-options\"}" << core::ErrorKind::Format
            << "not an AST PEFT Studio project";
        QTest::addRow("newer version") << "{\"format\": \"astpeft-project\", \"version\": 7}"
                                       << core::ErrorKind::Unsupported << "newer version";
        QTest::addRow("missing field") << "{\"format\": \"astpeft-project\", \"version\": 1}"
                                       << core::ErrorKind::Format << "missing field name";
    }
    void loadErrorsNameTheFile()
    {
        QFETCH(QString, text);
        QFETCH(core::ErrorKind, kind);
        QFETCH(QString, message);
        QTemporaryDir dir;
        if (!text.isEmpty())
            writeText(tmp(dir) / "project.json", text.toStdString());
        const auto error = captureError([&] { core::loadProject(tmp(dir)); });
        QVERIFY(error);
        QCOMPARE(error->kind(), kind);
        QCOMPARE(error->file(), tmp(dir) / "project.json");
        QVERIFY2(qs(error->what()).contains("project.json"), error->what());
        QVERIFY2(qs(error->reason()).contains(message), error->what());
    }

    void badFieldsAreNamed_data()
    {
        QTest::addColumn<QString>("from"); // text in a valid project.json...
        QTest::addColumn<QString>("to"); // ...replaced by this
        QTest::addColumn<QString>("message");
        QTest::addRow("split") << "\"split\": \"validation\""
                               << "\"split\": \"later\""
                               << "clips[0].split";
        QTest::addRow("label") << "\"label\": \"yes\""
                               << "\"label\": \"maybe\""
                               << "clips[0].label";
        QTest::addRow("trim") << "\"trim_end\": 0.75"
                              << "\"trim_end\": 0.1"
                              << "clips[0].trim_start/trim_end";
        QTest::addRow("peft") << "\"method\": \"lora\""
                              << "\"method\": \"magic\""
                              << "peft";
        QTest::addRow("training") << "\"epochs\": 3"
                                  << "\"epochs\": \"three\""
                                  << "training";
        // Issue 17: a seed that is not a number escaped as nlohmann's type_error ("internal
        // error") from options.json and project.json alike.
        QTest::addRow("seed") << "\"seed\": 10"
                              << "\"seed\": \"ten\""
                              << "seed must be an integer >= 0";
        QTest::addRow("duplicate id") << "\"id\": 2"
                                      << "\"id\": 1"
                                      << "used twice";
    }
    void badFieldsAreNamed()
    {
        QFETCH(QString, from);
        QFETCH(QString, to);
        QFETCH(QString, message);
        QTemporaryDir dir;
        const fs::path root = tmp(dir) / "proj";
        core::saveProject(fullProject(root, tmp(dir) / "outside"));
        QString text = qs(readText(root / "project.json"));
        QVERIFY2(text.contains(from), qPrintable(text));
        text.replace(text.indexOf(from), from.size(), to);
        writeText(root / "project.json", text.toStdString());
        const auto error = captureError([&] { core::loadProject(root); });
        QVERIFY(error);
        QCOMPARE(error->file(), root / "project.json");
        QVERIFY2(qs(error->reason()).contains(message), error->what());
    }

    void addDatasetSkipsDuplicates()
    {
        QTemporaryDir dir;
        const fs::path data = tmp(dir) / "words";
        writeTone(data / "yes" / "y1.wav", 0.3, 16000, 1, 300);
        writeTone(data / "yes" / "y2.wav", 0.3, 16000, 1, 310);
        writeTone(data / "yes" / "y3.wav", 0.3, 16000, 1, 320);
        writeTone(data / "no" / "n1.wav", 0.4, 22050, 2, 400);
        writeTone(data / "no" / "n2.wav", 0.4, 22050, 1, 410);
        writeTone(data / "_background_noise_" / "fan.wav", 1.0);

        core::Project p = core::createProject(tmp(dir) / "proj", "p");
        p.classes = { "yes" }; // an existing class keeps its place
        const core::Dataset dataset = core::importDataset(data);
        const std::vector<std::uint64_t> ids = core::addDataset(p, dataset);
        QCOMPARE(ids, (std::vector<std::uint64_t> { 1, 2, 3, 4, 5 }));
        QCOMPARE(p.classes, (std::vector<std::string> { "yes", "no" }));
        QCOMPARE(p.nextClipId, std::uint64_t(6));
        QCOMPARE(int(p.clips.size()), 5);
        std::map<std::string, std::string> labels;
        for (const core::ProjectClip &clip : p.clips) {
            QVERIFY(clip.file.is_absolute()); // outside the project
            labels[clip.file.filename().string()] = clip.label;
        }
        QCOMPARE(labels["y2.wav"], std::string("yes"));
        QCOMPARE(labels["n1.wav"], std::string("no"));
        const core::ProjectClip *n1 = nullptr;
        for (const core::ProjectClip &clip : p.clips) {
            if (clip.file.filename() == "n1.wav")
                n1 = &clip;
        }
        QVERIFY(n1);
        QCOMPARE(n1->sampleRate, 22050);
        QCOMPARE(n1->channels, 2);
        QVERIFY(std::abs(n1->seconds - 0.4) < 1e-3);
        QCOMPARE(p.noise, (std::vector<fs::path> { data / "_background_noise_" / "fan.wav" }));
        QCOMPARE(p.imports.size(), std::size_t(1));
        QVERIFY2(qs(p.imports[0]).contains("words (folders)"), p.imports[0].c_str());

        // The same folder again, plus one new file: only that one is added.
        writeTone(data / "up" / "u1.wav", 0.3, 16000, 1, 500);
        const std::vector<std::uint64_t> more = core::addDataset(p, core::importDataset(data));
        QCOMPARE(more, (std::vector<std::uint64_t> { 6 }));
        QCOMPARE(p.classes, (std::vector<std::string> { "yes", "no", "up" }));
        QCOMPARE(int(p.clips.size()), 6);
        QCOMPARE(int(p.noise.size()), 1);
        QCOMPARE(int(p.imports.size()), 2);

        // A dataset inside the project folder is stored relative to it.
        writeTone(p.dir / "imported" / "go" / "g.wav", 0.3);
        const std::vector<std::uint64_t> inside =
            core::addDataset(p, core::importDataset(p.dir / "imported"));
        QCOMPARE(inside.size(), std::size_t(1));
        QCOMPARE(p.clips.back().file, fs::path("imported/go/g.wav"));
        core::saveProject(p);
        QCOMPARE(core::loadProject(p.dir).clips.size(), std::size_t(7));
    }

    void manifestReimportsWithTheSameLabelsAndSplits()
    {
        QTemporaryDir dir;
        core::Project p = core::createProject(tmp(dir) / "proj", "p");
        const fs::path outside = tmp(dir) / "ext, \"quoted\" file.wav";
        writeTone(outside, 0.6, 16000, 1, 700);
        p.classes = { "yes", "no, really", "empty" };
        struct Spec
        {
            std::string name, label;
            core::Split split;
            int fold;
            std::string group;
        };
        const std::vector<Spec> specs = {
            { "a", "yes", core::Split::Train, 0, "alice" },
            { "b", "yes", core::Split::Validation, 0, "bob" },
            { "c", "no, really", core::Split::Test, 0, "" },
            { "d", "no, really", core::Split::Unassigned, 2, "carol, jr" },
            { "e", "yes", core::Split::Unassigned, 0, "" },
        };
        double frequency = 200;
        for (const Spec &s : specs) {
            const fs::path file = core::newRecordingPath(p, s.label);
            writeTone(file, 1.0, 16000, 1, frequency += 50);
            core::ProjectClip clip = makeClip(p, core::storedPath(p, file), s.label);
            clip.split = s.split;
            clip.fold = s.fold;
            clip.group = s.group;
            clip.seconds = 1.0;
            clip.sampleRate = 16000;
            clip.channels = 1;
            p.clips.push_back(clip);
        }
        core::ProjectClip ext = makeClip(p, outside, "yes");
        ext.seconds = 0.6;
        p.clips.push_back(ext);
        // Trimmed: mono 16 kHz 0.25-0.75 s, and stereo 22.05 kHz from 0.5 s to the end.
        const fs::path mono = p.dir / "recordings" / "yes" / "long.wav";
        writeTone(mono, 1.0, 16000, 1, 900);
        core::ProjectClip t1 = makeClip(p, "recordings/yes/long.wav", "yes");
        t1.trimStart = 0.25;
        t1.trimEnd = 0.75;
        t1.seconds = 1.0;
        p.clips.push_back(t1);
        const fs::path stereo = p.dir / "recordings" / "no_ really" / "st.wav";
        writeTone(stereo, 1.2, 22050, 2, 1000);
        core::ProjectClip t2 = makeClip(p, core::storedPath(p, stereo), "no, really");
        t2.trimStart = 0.5;
        t2.seconds = 1.2;
        t2.split = core::Split::Train;
        p.clips.push_back(t2);

        const fs::path manifest = core::writeTrainingManifest(p);
        QCOMPARE(manifest, p.dir / "cache" / "manifest.csv");
        const core::Dataset d = core::importDataset(manifest);
        QCOMPARE(d.layout, core::DatasetLayout::Csv);
        QVERIFY(d.skipped.empty());
        // The class without clips is left out.
        QCOMPARE(d.labels, (std::vector<std::string> { "no, really", "yes" }));
        QCOMPARE(d.clips.size(), p.clips.size());
        std::vector<fs::path> rendered;
        for (std::size_t i = 0; i < p.clips.size(); ++i) {
            const core::ProjectClip &want = p.clips[i];
            const core::Clip &got = d.clips[i]; // manifest order = clip order
            QCOMPARE(d.labels[std::size_t(got.label)], want.label);
            QCOMPARE(got.split, want.split);
            QCOMPARE(got.fold, want.fold);
            QCOMPARE(got.group, want.group);
            if (core::isTrimmed(want)) {
                QCOMPARE(got.file.parent_path(), p.dir / "cache" / "trimmed");
                rendered.push_back(got.file);
            } else {
                QCOMPARE(got.file, core::clipPath(p, want));
            }
        }
        QCOMPARE(rendered.size(), std::size_t(2));

        // The renders hold exactly the trimmed window at the native rate and channels.
        const core::AudioInfo a = core::probeAudio(rendered[0]);
        QCOMPARE(a.sampleRate, 16000);
        QCOMPARE(a.channels, 1);
        QCOMPARE(a.frames, std::int64_t(8000));
        const core::AudioInfo b = core::probeAudio(rendered[1]);
        QCOMPARE(b.sampleRate, 22050);
        QCOMPARE(b.channels, 2);
        QCOMPARE(b.frames, std::int64_t(std::llround(1.2 * 22050)) - 11025);
        const std::vector<float> whole = core::decodeAudio(mono, { .targetRate = 16000 }).samples;
        const std::vector<float> cut =
            core::decodeAudio(rendered[0], { .targetRate = 16000 }).samples;
        QCOMPARE(cut.size(), std::size_t(8000));
        for (std::size_t i = 0; i < cut.size(); i += 97)
            QCOMPARE(cut[i], whole[4000 + i]);
        const std::vector<float> right =
            core::decodeAudio(stereo, { .targetRate = 22050, .channel = 1 }).samples;
        const std::vector<float> rightCut =
            core::decodeAudio(rendered[1], { .targetRate = 22050, .channel = 1 }).samples;
        for (std::size_t i = 0; i < rightCut.size(); i += 101)
            QCOMPARE(rightCut[i], right[11025 + i]);

        // Rendered once: a second manifest reuses the files.
        const auto stamp = fs::last_write_time(rendered[0]);
        const std::string first = readText(manifest);
        core::writeTrainingManifest(p);
        QCOMPARE(fs::last_write_time(rendered[0]), stamp);
        QCOMPARE(readText(manifest), first);
        QCOMPARE(std::distance(
                     fs::directory_iterator(p.dir / "cache" / "trimmed"), fs::directory_iterator()),
            std::ptrdiff_t(2));

        // A trim that leaves nothing names the file.
        p.clips.back().trimStart = 5.0;
        const auto error = captureError([&] { core::writeTrainingManifest(p); });
        QVERIFY(error);
        QCOMPARE(error->file(), stereo);
    }

    void recordingPathsAreUnique()
    {
        QTemporaryDir dir;
        core::Project p = core::createProject(tmp(dir) / "proj", "p");
        const fs::path first = core::newRecordingPath(p, "yes");
        QCOMPARE(first, p.dir / "recordings" / "yes" / "yes_001.wav");
        QCOMPARE(core::newRecordingPath(p, "yes"), first); // nothing written yet
        writeTone(first, 0.1);
        const fs::path second = core::newRecordingPath(p, "yes");
        QCOMPARE(second, p.dir / "recordings" / "yes" / "yes_002.wav");
        // Used by a clip though not on disk (yet): taken as well.
        p.classes = { "yes" };
        p.clips.push_back(makeClip(p, "recordings/yes/yes_002.wav", "yes"));
        QCOMPARE(core::newRecordingPath(p, "yes"), p.dir / "recordings" / "yes" / "yes_003.wav");
        // Labels are made safe for the file system and never leave recordings/.
        QCOMPARE(core::newRecordingPath(p, "../up/down"),
            p.dir / "recordings" / "___up_down" / "___up_down_001.wav");
        QCOMPARE(
            core::newRecordingPath(p, "día 2"), p.dir / "recordings" / "día_2" / "día_2_001.wav");
        QCOMPARE(core::sanitizeFileName("..."), std::string("clip"));
        for (int i = 0; i < 3; ++i)
            writeTone(core::newRecordingPath(p, "a/b"), 0.05);
        QVERIFY(fs::exists(p.dir / "recordings" / "a_b" / "a_b_003.wav"));
    }

    void runFolders()
    {
        QTemporaryDir dir;
        core::Project p = core::createProject(tmp(dir) / "proj", "p");
        const fs::path run = core::newRunDir(p, "lora");
        QCOMPARE(run.parent_path(), p.dir / "runs");
        QVERIFY(!fs::exists(run));
        const QString name = qs(run.filename().string());
        QVERIFY2(
            QRegularExpression("^\\d{8}-\\d{6}-lora$").match(name).hasMatch(), qPrintable(name));
        fs::create_directories(run);
        p.runs.push_back(core::storedPath(p, run));
        const fs::path next = core::newRunDir(p, "lora");
        QVERIFY(next != run);
        QVERIFY(!fs::exists(next));
        if (next.filename().string().substr(0, 15) == run.filename().string().substr(0, 15))
            QCOMPARE(next.filename().string(), run.filename().string() + "-2");
    }

    void countsAndBalance()
    {
        // On the heap: GCC 12 -O3 reports a false maybe-uninitialized for a Project on the stack.
        const auto owner = std::make_unique<core::Project>();
        core::Project &p = *owner;
        p.dir = "/nowhere";
        p.classes = { "a", "b", "c", "d", "e" };
        const std::map<std::string, int> sizes = { { "a", 12 }, { "b", 12 }, { "c", 5 }, { "d", 3 },
            { "e", 0 } };
        for (const auto &[label, n] : sizes) {
            for (int i = 0; i < n; ++i) {
                core::ProjectClip clip = makeClip(p, label + std::to_string(i) + ".wav", label);
                clip.seconds = 2.0;
                p.clips.push_back(clip);
            }
        }
        p.clips.front().trimStart = 0.5; // a's first clip: 1.5 s
        p.clips.front().trimEnd = 1.5; // ...now 1 s
        const std::vector<core::ClassCount> counts = core::classCounts(p);
        QCOMPARE(counts.size(), std::size_t(5));
        QCOMPARE(qs(counts[0].label), QString("a"));
        QCOMPARE(counts[0].clips, 12);
        QCOMPARE(counts[0].seconds, 23.0);
        QCOMPARE(counts[3].clips, 3);
        QCOMPARE(counts[4].clips, 0);
        QCOMPARE(counts[4].seconds, 0.0);

        // Median 5: d (3) and e (0) are under 5; c (5) is fine.
        std::vector<std::string> warnings = core::balanceWarnings(p);
        QCOMPARE(warnings.size(), std::size_t(2));
        QVERIFY2(qs(warnings[0]).startsWith("'d' has only 3 clips"), warnings[0].c_str());
        QVERIFY2(qs(warnings[1]).startsWith("'e' has no clips"), warnings[1].c_str());

        // Enough clips, but fewer than half the median (20): c (6) is named.
        p.classes = { "a", "b", "c" };
        p.clips.clear();
        for (const auto &[label, n] :
            std::map<std::string, int> { { "a", 20 }, { "b", 21 }, { "c", 6 } }) {
            for (int i = 0; i < n; ++i)
                p.clips.push_back(makeClip(p, label + std::to_string(i) + ".wav", label));
        }
        warnings = core::balanceWarnings(p);
        QCOMPARE(warnings.size(), std::size_t(1));
        QVERIFY2(qs(warnings[0]).contains("'c' has 6 clips, fewer than half the median"),
            warnings[0].c_str());
        // Balanced: no warnings.
        for (int i = 0; i < 10; ++i)
            p.clips.push_back(makeClip(p, "c-more" + std::to_string(i) + ".wav", "c"));
        QVERIFY(core::balanceWarnings(p).empty());
    }
};

QTEST_GUILESS_MAIN(TestProject)
#include "tst_project.moc"
