// SPDX-License-Identifier: MIT
// core/io/atomic_file: publish-or-nothing file writes.
#include "error.h"
#include "io/atomic_file.h"
#include "test_support.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>
#include <optional>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

using namespace astpeft;

namespace {

using test::captureError;

QByteArray readAll(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QByteArray("<unreadable>");
    return file.readAll();
}

// A deterministic byte pattern of `size` bytes.
std::string pattern(qsizetype size, char seed)
{
    std::string text(std::size_t(size), '\0');
    for (std::size_t i = 0; i < text.size(); ++i)
        text[i] = char(seed + char(i * 31 + i / 251));
    return text;
}

} // namespace

class TestAtomicFile : public QObject
{
    Q_OBJECT

private slots:
    void writeCreatesFile_data();
    void writeCreatesFile();
    void secondWriteReplaces();
    void streamingWrites_data();
    void streamingWrites();
    void destroyedWithoutCommitKeepsOld();
    void destroyedWithoutCommitCreatesNothing();
    void missingFolderThrows();
    void readOnlyFolderThrows();
    void commitTwiceThrows();
    void relativePath();
    void refusesWhatIsNotARegularFile();

private:
    // Names in `folder` other than `keep`: temporary files that should not be there.
    static QStringList leftovers(const QString &folder, const QString &keep = {});
};

QStringList TestAtomicFile::leftovers(const QString &folder, const QString &keep)
{
    QStringList names = QDir(folder).entryList(
        QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot);
    names.removeAll(keep);
    return names;
}

void TestAtomicFile::writeCreatesFile_data()
{
    QTest::addColumn<qsizetype>("size");
    QTest::addRow("empty") << qsizetype(0);
    QTest::addRow("one byte") << qsizetype(1);
    QTest::addRow("4 KiB") << qsizetype(4096);
    QTest::addRow("3 MiB + 7") << qsizetype(3 * 1024 * 1024 + 7);
}

void TestAtomicFile::writeCreatesFile()
{
    QFETCH(qsizetype, size);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("out.bin");
    const std::string content = pattern(size, 'a');
    core::writeFileAtomic(path.toStdString(), content);
    QVERIFY(QFile::exists(path));
    QCOMPARE(readAll(path), QByteArray::fromStdString(content));
    QCOMPARE(leftovers(dir.path(), "out.bin"), QStringList());
}

void TestAtomicFile::secondWriteReplaces()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("config.json");
    core::writeFileAtomic(path.toStdString(), std::string_view("first version, rather long"));
    core::writeFileAtomic(path.toStdString(), std::string_view("second"));
    QCOMPARE(readAll(path), QByteArray("second"));
    QCOMPARE(leftovers(dir.path(), "config.json"), QStringList());
}

void TestAtomicFile::streamingWrites_data()
{
    QTest::addColumn<int>("pieces");
    QTest::addRow("1 piece") << 1;
    QTest::addRow("100 pieces") << 100;
    QTest::addRow("5000 pieces") << 5000;
}

void TestAtomicFile::streamingWrites()
{
    QFETCH(int, pieces);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("weights.safetensors");
    QByteArray expected;
    {
        core::AtomicFile file(path.toStdString());
        for (int i = 0; i < pieces; ++i) {
            const std::string piece = pattern(1 + i % 977, char('A' + i % 26));
            file.write(std::as_bytes(std::span(piece.data(), piece.size())));
            expected += QByteArray::fromStdString(piece);
        }
        // Nothing is visible under the target name before commit().
        QVERIFY(!QFile::exists(path));
        file.commit();
    }
    QCOMPARE(readAll(path), expected);
    QCOMPARE(leftovers(dir.path(), "weights.safetensors"), QStringList());
}

void TestAtomicFile::destroyedWithoutCommitKeepsOld()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("model.bin");
    core::writeFileAtomic(path.toStdString(), std::string_view("old content"));
    {
        core::AtomicFile file(path.toStdString());
        file.write(std::string_view("new content that is never committed"));
        QCOMPARE(leftovers(dir.path(), "model.bin").size(), 1); // the temporary file
    }
    QCOMPARE(readAll(path), QByteArray("old content"));
    QCOMPARE(leftovers(dir.path(), "model.bin"), QStringList());
}

void TestAtomicFile::destroyedWithoutCommitCreatesNothing()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    {
        core::AtomicFile file(dir.filePath("never.txt").toStdString());
        file.write(std::string_view("discarded"));
    }
    QCOMPARE(leftovers(dir.path()), QStringList());
}

void TestAtomicFile::missingFolderThrows()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString folder = dir.filePath("no-such-folder");
    const QString path = folder + "/out.txt";
    const auto error =
        captureError([&] { core::writeFileAtomic(path.toStdString(), std::string_view("x")); });
    QVERIFY(error.has_value());
    QCOMPARE(int(error->kind()), int(core::ErrorKind::Io));
    QVERIFY2(QString::fromStdString(error->what()).contains(folder), error->what());
    QCOMPARE(leftovers(dir.path()), QStringList());
}

void TestAtomicFile::readOnlyFolderThrows()
{
    if (::geteuid() == 0)
        QSKIP("running as root: permissions are not enforced");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("out.txt");
    core::writeFileAtomic(path.toStdString(), std::string_view("kept"));
    QVERIFY(::chmod(QFile::encodeName(dir.path()).constData(), 0555) == 0);
    const auto error = captureError(
        [&] { core::writeFileAtomic(path.toStdString(), std::string_view("replaced")); });
    ::chmod(QFile::encodeName(dir.path()).constData(), 0755);
    QVERIFY(error.has_value());
    QCOMPARE(int(error->kind()), int(core::ErrorKind::Io));
    QVERIFY2(QString::fromStdString(error->what()).contains(path), error->what());
    QCOMPARE(readAll(path), QByteArray("kept"));
    QCOMPARE(leftovers(dir.path(), "out.txt"), QStringList());
}

void TestAtomicFile::commitTwiceThrows()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("once.txt");
    core::AtomicFile file(path.toStdString());
    file.write(std::string_view("once"));
    file.commit();
    QVERIFY(captureError([&] { file.commit(); }).has_value());
    QVERIFY(captureError([&] { file.write(std::string_view("more")); }).has_value());
    QCOMPARE(readAll(path), QByteArray("once"));
}

void TestAtomicFile::relativePath()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path previous = std::filesystem::current_path();
    std::filesystem::current_path(dir.path().toStdString());
    const auto error =
        captureError([] { core::writeFileAtomic("plain.txt", std::string_view("here")); });
    std::filesystem::current_path(previous);
    QVERIFY2(!error.has_value(), error ? error->what() : "");
    QCOMPARE(readAll(dir.filePath("plain.txt")), QByteArray("here"));
    QCOMPARE(leftovers(dir.path(), "plain.txt"), QStringList());
}

// `astpeft fbank clip.wav --out /dev/full` replaced the device node with a plain file (issue 17):
// a target that is not a regular file is refused, before anything is written, and stays as it
// was. A FIFO stands in for device nodes (the same check; no real device is risked here).
void TestAtomicFile::refusesWhatIsNotARegularFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path root = dir.path().toStdString();
    const std::filesystem::path fifo = root / "fifo", link = root / "link",
                                target = root / "target.txt", folder = root / "folder";
    QCOMPARE(::mkfifo(fifo.c_str(), 0644), 0);
    core::writeFileAtomic(target, std::string_view("kept"));
    std::filesystem::create_symlink(target, link);
    std::filesystem::create_directory(folder);
    const std::pair<std::filesystem::path, std::string> cases[] = { { fifo, "is a FIFO" },
        { link, "is a symbolic link" }, { folder, "is a folder" } };
    for (const auto &item : cases) {
        const std::filesystem::path &path = item.first;
        const std::string &what = item.second;
        const auto error =
            captureError([&] { core::writeFileAtomic(path, std::string_view("x")); });
        QVERIFY2(error, path.c_str());
        QCOMPARE(error->kind(), core::ErrorKind::Io);
        QVERIFY2(error->reason().find(what) == 0, error->what());
        QCOMPARE(error->file(), path);
    }
    QVERIFY(std::filesystem::is_fifo(fifo));
    QVERIFY(std::filesystem::is_symlink(link));
    QVERIFY(std::filesystem::is_directory(folder));
    QCOMPARE(readAll(QString::fromStdString(target.string())), QByteArray("kept"));
    // No temporary file was left behind.
    QCOMPARE(leftovers(dir.path()), QStringList({ "fifo", "folder", "link", "target.txt" }));
}

QTEST_GUILESS_MAIN(TestAtomicFile)
#include "tst_atomic_file.moc"
