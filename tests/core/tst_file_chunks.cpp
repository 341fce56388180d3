// SPDX-License-Identifier: MIT
// core/io/file_chunks: whole-file chunked reads (hashing checkpoints and audio) and hex digests.
#include "error.h"
#include "io/file_chunks.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <array>
#include <fstream>
#include <string>

using namespace astpeft;
using test::captureError;

class TestFileChunks : public QObject
{
    Q_OBJECT

private slots:
    void chunksCoverTheFile_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("chunk");
        QTest::addRow("empty") << 0 << 7;
        QTest::addRow("smaller than a chunk") << 5 << 7;
        QTest::addRow("exact multiple") << 21 << 7;
        QTest::addRow("remainder") << 100003 << 4096;
        QTest::addRow("one byte chunks") << 300 << 1;
    }

    void chunksCoverTheFile()
    {
        QFETCH(int, size);
        QFETCH(int, chunk);
        QTemporaryDir tmp;
        const std::filesystem::path path = tmp.filePath("data.bin").toStdString();
        std::string content(std::size_t(size), '\0');
        for (std::size_t i = 0; i < content.size(); ++i)
            content[i] = char((i * 131 + i / 7) & 0xff);
        std::ofstream(path, std::ios::binary).write(content.data(), std::streamsize(size));

        std::string seen;
        int calls = 0;
        core::readInChunks(
            path,
            [&](std::span<const unsigned char> bytes) {
                QVERIFY(!bytes.empty());
                QVERIFY(bytes.size() <= std::size_t(chunk));
                seen.append(reinterpret_cast<const char *>(bytes.data()), bytes.size());
                ++calls;
            },
            "to test it", std::size_t(chunk));
        QCOMPARE(seen, content);
        QCOMPARE(calls, (size + chunk - 1) / chunk);
    }

    void errorsNameTheFileAndTheStep()
    {
        QTemporaryDir tmp;
        const std::filesystem::path missing = tmp.filePath("missing.bin").toStdString();
        const auto open = captureError([&] {
            core::readInChunks(
                missing, [](auto) {}, "the audio file");
        });
        QVERIFY(open);
        QCOMPARE(open->kind(), core::ErrorKind::Io);
        QCOMPARE(open->file(), missing);
        QVERIFY2(open->reason().starts_with("cannot open the audio file: "), open->what());
        QVERIFY2(QString(open->what()).contains("No such file"), open->what());

        // A folder opens but cannot be read (EISDIR).
        const std::filesystem::path folder = tmp.path().toStdString();
        const auto read = captureError([&] {
            core::readInChunks(
                folder, [](auto) {}, "to verify it");
        });
        QVERIFY(read);
        QVERIFY2(read->reason().starts_with("cannot read to verify it: "), read->what());
        QCOMPARE(read->file(), folder);
    }

    void consumerExceptionsPropagate()
    {
        QTemporaryDir tmp;
        const std::filesystem::path path = tmp.filePath("x").toStdString();
        std::ofstream(path) << "abc";
        bool thrown = false;
        try {
            core::readInChunks(
                path, [](auto) { throw std::runtime_error("stop"); }, "it");
        } catch (const std::runtime_error &e) {
            thrown = std::string(e.what()) == "stop";
        }
        QVERIFY(thrown);
    }

    void lowerHexDigits()
    {
        const std::array<unsigned char, 5> bytes { 0x00, 0x0f, 0xa0, 0xff, 0x3c };
        QCOMPARE(core::lowerHex(bytes), std::string("000fa0ff3c"));
        QCOMPARE(core::lowerHex({}), std::string());
        QCOMPARE(core::errnoText(ENOENT), std::string("No such file or directory"));
    }
};

QTEST_GUILESS_MAIN(TestFileChunks)
#include "tst_file_chunks.moc"
