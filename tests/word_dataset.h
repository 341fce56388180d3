// SPDX-License-Identifier: MIT
// Spoken-word datasets generated for tests with espeak-ng: one folder per word, one WAV per
// (voice, speed, pitch). Header-only; needs espeak-ng on PATH (tools/bootstrap.sh installs it).
#pragma once

#include <QDir>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace astpeft::test {

struct WordDatasetOptions
{
    QStringList words { "yes", "no", "up", "down" };
    QStringList voices { "en", "en-us", "en+f3", "en+m3" };
    QList<int> speeds { 140, 180 }; // words per minute
    QList<int> pitches { 50 }; // 0-99
};

// Writes root/<word>/<voice>_<speed>_<pitch>.wav (22.05 kHz mono, espeak-ng's format) and
// returns the number of files written; 0 when espeak-ng failed (the caller should QFAIL).
inline int writeWordDataset(const QString &root, const WordDatasetOptions &options = {})
{
    int written = 0;
    for (const QString &word : options.words) {
        QDir().mkpath(root + "/" + word);
        for (const QString &voice : options.voices) {
            for (int speed : options.speeds) {
                for (int pitch : options.pitches) {
                    QString name = voice;
                    name.replace('+', '_');
                    const QString file =
                        QString("%1/%2/%3_%4_%5.wav").arg(root, word, name).arg(speed).arg(pitch);
                    const int rc = QProcess::execute("espeak-ng",
                        { "-v", voice, "-s", QString::number(speed), "-p", QString::number(pitch),
                            "-w", file, word });
                    if (rc != 0)
                        return 0;
                    ++written;
                }
            }
        }
    }
    return written;
}

} // namespace astpeft::test
