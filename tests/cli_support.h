// SPDX-License-Identifier: MIT
// Helpers shared by the tests that run the built `astpeft` binary (header-only; Qt only).
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <sys/resource.h>

namespace astpeft::test {

// What one run of the CLI gave: exit status (-1 when it crashed or did not start) and output.
struct CliResult
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// Caps the address space of the process `p` will start (RLIMIT_AS): a command that
// allocates without bound then fails there instead of taking the machine down.
inline void capAddressSpace(QProcess &p, rlim_t bytes = rlim_t(4) << 30)
{
    p.setChildProcessModifier([bytes] {
        const rlimit limit { bytes, bytes };
        ::setrlimit(RLIMIT_AS, &limit);
    });
}

// The system environment with HOME (and the XDG cache) in `home`, created: nothing the
// programs a test starts write reaches the user's files.
inline QProcessEnvironment isolatedEnvironment(const QString &home)
{
    QDir().mkpath(home);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("HOME", home);
    env.insert("XDG_CACHE_HOME", home + "/.cache");
    return env;
}

// Waits for a started CLI process (killing it after `timeoutMs`) and collects what it gave.
inline CliResult collect(QProcess &p, int timeoutMs)
{
    CliResult r;
    if (!p.waitForStarted(30000)) {
        r.err = "could not start " + p.program().toUtf8();
        return r;
    }
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
    }
    r.out += p.readAllStandardOutput();
    r.err += p.readAllStandardError();
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    return r;
}

// Runs `program` with `args` in `workDir` (empty: this process's) under `env`, and collects it.
inline CliResult runIn(const QString &program, const QString &workDir, const QStringList &args,
    const QProcessEnvironment &env, int timeoutMs = 600000)
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.setWorkingDirectory(workDir);
    p.start(program, args);
    return collect(p, timeoutMs);
}

// "astpeft ARGS -> exit N", then the last 4000 bytes of stdout and stderr, for failure messages.
inline QString describe(const QStringList &args, const CliResult &r)
{
    return QStringLiteral("astpeft %1 -> exit %2\nstdout: %3\nstderr: %4")
        .arg(args.join(' '))
        .arg(r.exitCode)
        .arg(QString::fromUtf8(r.out.right(4000)), QString::fromUtf8(r.err.right(4000)));
}

// A whole file; empty when it cannot be read.
inline QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

inline bool writeAll(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

// An input error: exactly one line on stderr.
inline bool isOneLine(const QByteArray &err)
{
    return err.endsWith('\n') && err.count('\n') == 1;
}

// One JSON object per non-empty line; empty when any line is not a JSON object.
inline QList<QJsonObject> jsonLines(const QByteArray &text)
{
    QList<QJsonObject> objects;
    for (const QByteArray &line : text.split('\n')) {
        if (line.isEmpty())
            continue;
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
        if (error.error != QJsonParseError::NoError || !doc.isObject())
            return {};
        objects.append(doc.object());
    }
    return objects;
}

} // namespace astpeft::test

// Runs the CLI through RUN_FUNCTION(args) (the test's own runner, returning a CliResult) and
// fails the calling test unless it exits with `expected`.
#define ASTPEFT_RUN_EXPECT(RUN_FUNCTION, result, args, expected)                                   \
    const QStringList result##Args = (args);                                                       \
    const astpeft::test::CliResult result = RUN_FUNCTION(result##Args);                            \
    QVERIFY2(                                                                                      \
        result.exitCode == (expected), qPrintable(astpeft::test::describe(result##Args, result)))
