// SPDX-License-Identifier: MIT
// core/runtime/resources and core/project/demo_project: the resource folder's search order
// ($ASTPEFT_RESOURCE_DIR, then <exe>/../share/astpeft, then the source tree), errors that name
// every place searched, the bundled demo dataset's classes and format, and the demo project
// (created with every demo clip and the backbone, reopened without duplicates, a vanished
// backbone replaced, XDG_DATA_HOME honoured).
#include "audio/audio_file.h"
#include "error.h"
#include "project/demo_project.h"
#include "runtime/resources.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>

using namespace astpeft;
namespace fs = std::filesystem;

namespace {

using test::captureError;

const std::set<std::string> kDemoClasses = { "yes", "no", "up", "down", "left", "right", "on",
    "off", "stop", "go", "_background_" };

// Sets (or, with nullopt, unsets) an environment variable for the lifetime of the object.
class ScopedEnv
{
public:
    ScopedEnv(const char *name, std::optional<std::string> value)
        : m_name(name)
    {
        if (const char *old = std::getenv(name))
            m_old = old;
        set(value);
    }
    ~ScopedEnv() { set(m_old); }
    ScopedEnv(const ScopedEnv &) = delete;
    ScopedEnv &operator=(const ScopedEnv &) = delete;

private:
    void set(const std::optional<std::string> &value)
    {
        if (value) {
            ::setenv(m_name, value->c_str(), 1);
        } else {
            ::unsetenv(m_name);
        }
    }
    const char *m_name;
    std::optional<std::string> m_old;
};

fs::path tmp(const QTemporaryDir &dir)
{
    return fs::path(dir.path().toStdString());
}

void touch(const fs::path &file, const std::string &text = "{}")
{
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
}

} // namespace

class TestResources : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void environmentComesFirst()
    {
        QTemporaryDir dir;
        touch(tmp(dir) / "backbone" / "config.json");
        fs::create_directories(tmp(dir) / "demo");
        const ScopedEnv env("ASTPEFT_RESOURCE_DIR", tmp(dir).string());
        const auto path = core::resourceSearchPath();
        QCOMPARE(path.size(), std::size_t(3));
        QCOMPARE(path[0], tmp(dir));
        QCOMPARE(core::resourceDir(), tmp(dir));
        QCOMPARE(core::bundledBackboneDir(), tmp(dir) / "backbone");
        QCOMPARE(core::demoDataDir(), tmp(dir) / "demo");
    }

    void searchOrderWithoutEnvironment()
    {
        const ScopedEnv env("ASTPEFT_RESOURCE_DIR", std::nullopt);
        const auto path = core::resourceSearchPath();
        QCOMPARE(path.size(), std::size_t(2));
        // This test runs from the build folder: <build>/tests/tst_resources.
        const fs::path exe = fs::read_symlink("/proc/self/exe");
        QCOMPARE(
            path[0], (exe.parent_path().parent_path() / "share" / "astpeft").lexically_normal());
        QCOMPARE(path[1].filename(), fs::path("resources"));
        QVERIFY(fs::exists(path[1] / "astpeft-studio.desktop"));
        // No share/astpeft in the build folder: the source tree's resources are found.
        QVERIFY(!fs::exists(path[0]));
        QCOMPARE(core::resourceDir(), path[1]);
        QCOMPARE(core::demoDataDir(), path[1] / "demo");
    }

    void environmentThatIsNoFolderIsAnError()
    {
        QTemporaryDir dir;
        const fs::path missing = tmp(dir) / "nowhere";
        const ScopedEnv env("ASTPEFT_RESOURCE_DIR", missing.string());
        const auto e = captureError([] { core::resourceDir(); });
        QVERIFY(e);
        QCOMPARE(e->kind(), core::ErrorKind::Io);
        QCOMPARE(e->file(), missing);
        QVERIFY2(e->reason().find("ASTPEFT_RESOURCE_DIR") != std::string::npos, e->what());
    }

    void missingBackboneNamesEveryPlace()
    {
        QTemporaryDir dir;
        fs::create_directories(tmp(dir) / "demo");
        const ScopedEnv env("ASTPEFT_RESOURCE_DIR", tmp(dir).string());
        const auto e = captureError([] { core::bundledBackboneDir(); });
        QVERIFY(e);
        QCOMPARE(e->kind(), core::ErrorKind::Io);
        QCOMPARE(e->file(), tmp(dir) / "backbone");
        for (const fs::path &place : core::resourceSearchPath())
            QVERIFY2(e->reason().find(place.string()) != std::string::npos, e->what());
        QVERIFY2(e->reason().find("--model") != std::string::npos, e->what());
        // A backbone folder without config.json is no backbone either.
        fs::create_directories(tmp(dir) / "backbone");
        QVERIFY(captureError([] { core::bundledBackboneDir(); }));
        fs::remove(tmp(dir) / "demo");
        const auto demo = captureError([] { core::demoDataDir(); });
        QVERIFY(demo);
        QCOMPARE(demo->file(), tmp(dir) / "demo");
    }

    // The committed dataset: the eleven classes, 32 clips each, 16 kHz mono, at most 1 s.
    void bundledDemoDataset()
    {
        const ScopedEnv env("ASTPEFT_RESOURCE_DIR", std::nullopt);
        const fs::path demo = core::demoDataDir();
        std::set<std::string> classes;
        for (const auto &entry : fs::directory_iterator(demo)) {
            if (!entry.is_directory())
                continue;
            classes.insert(entry.path().filename().string());
            int clips = 0;
            for (const auto &file : fs::directory_iterator(entry.path())) {
                QCOMPARE(file.path().extension(), fs::path(".flac"));
                const core::AudioInfo info = core::probeAudio(file.path());
                QCOMPARE(info.sampleRate, 16000);
                QCOMPARE(info.channels, 1);
                QVERIFY2(info.seconds() > 0.1 && info.seconds() <= 1.0 + 1e-9,
                    file.path().string().c_str());
                ++clips;
            }
            QCOMPARE(clips, 32);
        }
        QCOMPARE(classes, kDemoClasses);
    }

    void demoProjectIsCreatedThenReopened()
    {
        const ScopedEnv env("ASTPEFT_RESOURCE_DIR", std::nullopt);
        QTemporaryDir dir;
        const fs::path backbone = tmp(dir) / "backbone";
        touch(backbone / "config.json");
        const fs::path projectDir = tmp(dir) / "share" / "astpeft" / "demo-project";
        const core::Project p = core::openDemoProject(projectDir, core::demoDataDir(), backbone);
        QVERIFY(core::isProjectDir(projectDir));
        QCOMPARE(std::set<std::string>(p.classes.begin(), p.classes.end()), kDemoClasses);
        QCOMPARE(p.clips.size(), std::size_t(11 * 32));
        QCOMPARE(core::resolvePath(p, p.backbone), backbone);
        for (const auto &clip : p.clips)
            QVERIFY(fs::exists(core::clipPath(p, clip)));

        // Reopened: the same project, nothing imported twice, the user's edits kept.
        core::Project edited = core::loadProject(projectDir);
        edited.clips.pop_back();
        core::saveProject(edited);
        const core::Project again =
            core::openDemoProject(projectDir, core::demoDataDir(), backbone);
        QCOMPARE(again.clips.size(), std::size_t(11 * 32 - 1));

        // A backbone that has gone is replaced by the one given.
        const fs::path other = tmp(dir) / "other-backbone";
        fs::create_directories(other);
        fs::remove_all(backbone);
        const core::Project moved = core::openDemoProject(projectDir, core::demoDataDir(), other);
        QCOMPARE(core::resolvePath(moved, moved.backbone), other);
        QCOMPARE(core::loadProject(projectDir).backbone, other);
    }

    void demoProjectRefusesAForeignFolder()
    {
        QTemporaryDir dir;
        touch(tmp(dir) / "unrelated.txt", "mine");
        const ScopedEnv env("ASTPEFT_RESOURCE_DIR", std::nullopt);
        QVERIFY(captureError(
            [&] { core::openDemoProject(tmp(dir), core::demoDataDir(), tmp(dir) / "b"); }));
        QVERIFY(!core::isProjectDir(tmp(dir)));
    }

    void demoProjectDirFollowsXdg()
    {
        {
            const ScopedEnv xdg("XDG_DATA_HOME", "/data/home");
            QCOMPARE(core::defaultDemoProjectDir(), fs::path("/data/home/astpeft/demo-project"));
        }
        const ScopedEnv home("HOME", "/home/someone");
        for (const std::optional<std::string> &value :
            { std::optional<std::string>(), std::optional<std::string>("relative/dir") }) {
            const ScopedEnv xdg("XDG_DATA_HOME", value);
            QCOMPARE(core::defaultDemoProjectDir(),
                fs::path("/home/someone/.local/share/astpeft/demo-project"));
        }
    }
};

QTEST_GUILESS_MAIN(TestResources)
#include "tst_resources.moc"
