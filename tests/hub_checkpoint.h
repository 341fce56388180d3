// SPDX-License-Identifier: MIT
// The checkpoint that the local Hub (hub_server.h) serves in the download tests: a tiny random
// model written by core::writeRandomModel and read back as bytes, and the check that a
// downloaded folder holds exactly those bytes and no partial files.
#pragma once

#include "inference/classifier.h"

#include <QByteArray>
#include <QFile>
#include <QString>
#include <QtTest>

#include <cstdint>

namespace astpeft::test {

inline QByteArray fileBytes(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

struct HubCheckpoint
{
    QByteArray config {}, weights {};

    // Writes the tiny preset with `seed` into `dir` and keeps its two files' bytes.
    static HubCheckpoint generate(const QString &dir, std::uint64_t seed)
    {
        core::RandomModelOptions model;
        model.seed = seed;
        core::writeRandomModel(dir.toStdString(), model);
        return { fileBytes(dir + "/config.json"), fileBytes(dir + "/model.safetensors") };
    }

    // A mismatch fails the running test function (which goes on after this returns).
    void verifyFolder(const QString &dir) const
    {
        QCOMPARE(fileBytes(dir + "/config.json"), config);
        QCOMPARE(fileBytes(dir + "/model.safetensors"), weights);
        QVERIFY(!QFile::exists(dir + "/model.safetensors.incomplete"));
        QVERIFY(!QFile::exists(dir + "/config.json.incomplete"));
    }
};

} // namespace astpeft::test
