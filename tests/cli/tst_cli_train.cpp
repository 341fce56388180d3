// SPDX-License-Identifier: MIT
// astpeft train, eval, compare and predict --adapter, end to end: runs the built binary
// (ASTPEFT_CLI) with QProcess on spoken words generated with espeak-ng (word_dataset.h) and a
// tiny random backbone from `astpeft init-model`. Checks the run folder and its metrics.jsonl,
// --json events, eval against the best epoch and from another folder, predict against eval,
// bit-identical resumption after Ctrl-C (exit status 130) or SIGKILL in the first epoch, one
// training per run folder, compare's table, and the one-line errors of bad input. Every process
// runs with HOME inside the temporary folder, so nothing reaches the user's ~/.cache.
// Torch-free.
//
// Bad input: one CLI row per kind of report (exit 1, exit 2 from core, the CLI's own checks);
// core's errors are tested in tests/core. Dropped here as duplicates (was an inputErrors row):
//   empty folder, text files only: tst_dataset detectLayoutMessage, detectLayoutErrors;
//     tst_trainer errorsComeBeforeTraining (no run folder)
//   class without a training clip, and classOfUnreadableClips: tst_dataset
//     classWithoutTrainingClip; tst_trainer errorsComeBeforeTraining
//   missing model, run folder is a file: tst_trainer errorsComeBeforeTraining
//   resume a missing folder: the CLI branch of "resume without options.json"
//   unknown layout: tst_train_flags badValues "layout"
// resumeWithoutCheckpoint no longer trains a run of its own: it copies the main run.
#include "audio/audio_file.h"
#include "cli_support.h"
#include "word_dataset.h"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <limits>
#include <optional>
#include <sys/types.h>
#include <unistd.h>

namespace {

using namespace astpeft::test;

const QString kCli = QStringLiteral(ASTPEFT_CLI);
const QStringList kWords = { "down", "no", "up", "yes" }; // sorted: the run's label order
constexpr int kClasses = 4;
constexpr int kClipsPerWord = 8; // 4 voices x 2 speeds (WordDatasetOptions' defaults)
constexpr int kMainEpochs = 6;
constexpr int kResumeEpochs = 16;

#define RUN_EXPECT(result, args, expected) ASTPEFT_RUN_EXPECT(run, result, args, expected)

QList<QJsonObject> metricsOf(const QString &run)
{
    return jsonLines(readAll(run + "/metrics.jsonl"));
}

QList<QJsonObject> eventsNamed(const QList<QJsonObject> &events, const QString &name)
{
    QList<QJsonObject> out;
    for (const QJsonObject &e : events) {
        if (e.value("event").toString() == name)
            out.append(e);
    }
    return out;
}

// "import", "step 1.3" (epoch.step), "epoch 2", "finished": the shape of an event sequence.
QStringList eventKeys(const QList<QJsonObject> &events)
{
    QStringList keys;
    for (const QJsonObject &e : events) {
        const QString name = e.value("event").toString();
        if (name == "step") {
            keys << QStringLiteral("step %1.%2")
                        .arg(e.value("epoch").toInt())
                        .arg(e.value("step").toInteger());
        } else if (name == "epoch") {
            keys << QStringLiteral("epoch %1").arg(e.value("epoch").toInt());
        } else {
            keys << name;
        }
    }
    return keys;
}

// The epoch line that saved the run's adapter: the latest with "best": true.
std::optional<QJsonObject> bestEpoch(const QList<QJsonObject> &events)
{
    std::optional<QJsonObject> best;
    for (const QJsonObject &e : eventsNamed(events, "epoch")) {
        if (e.value("best").toBool())
            best = e;
    }
    return best;
}

using Matrix = QList<QList<qint64>>;

Matrix matrixOf(const QJsonArray &rows)
{
    Matrix m;
    for (const QJsonValue &row : rows) {
        QList<qint64> r;
        for (const QJsonValue &v : row.toArray())
            r.append(v.toInteger(-1));
        m.append(r);
    }
    return m;
}

qint64 total(const Matrix &m)
{
    qint64 sum = 0;
    for (const auto &row : m) {
        for (qint64 v : row)
            sum += v;
    }
    return sum;
}

Matrix zeros(int n)
{
    return Matrix(n, QList<qint64>(n, 0));
}

Matrix plus(Matrix a, const Matrix &b)
{
    for (int i = 0; i < a.size() && i < b.size(); ++i) {
        for (int j = 0; j < a[i].size() && j < b[i].size(); ++j)
            a[i][j] += b[i][j];
    }
    return a;
}

// Fields of one CSV line; quoted fields may hold commas ("" is a quote).
QStringList csvFields(const QString &line)
{
    QStringList fields;
    QString field;
    bool quoted = false;
    for (int i = 0; i < line.size(); ++i) {
        const QChar c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields << field;
            field.clear();
        } else {
            field += c;
        }
    }
    fields << field;
    return fields;
}

QList<QStringList> csvRows(const QString &file)
{
    QList<QStringList> rows;
    for (const QString &line : QString::fromUtf8(readAll(file)).split('\n')) {
        if (!line.isEmpty())
            rows << csvFields(line);
    }
    return rows;
}

// confusion.csv: "true\pred,<labels>" then "<label>,<counts>" per true class.
bool readConfusionCsv(const QString &file, QStringList &labels, Matrix &m)
{
    const QList<QStringList> rows = csvRows(file);
    if (rows.isEmpty() || rows[0].value(0) != "true\\pred")
        return false;
    labels = rows[0].mid(1);
    m.clear();
    for (int r = 1; r < rows.size(); ++r) {
        if (rows[r].size() != labels.size() + 1 || rows[r][0] != labels.value(r - 1))
            return false;
        QList<qint64> counts;
        for (int c = 1; c < rows[r].size(); ++c) {
            bool ok = false;
            counts << rows[r][c].toLongLong(&ok);
            if (!ok)
                return false;
        }
        m << counts;
    }
    return m.size() == labels.size();
}

// What a folder holds (relative paths and content hashes), to show that nothing was written.
QString snapshot(const QString &path)
{
    const QFileInfo info(path);
    if (!info.exists())
        return "absent";
    const auto hash = [](const QString &file) {
        return QString::fromLatin1(
            QCryptographicHash::hash(readAll(file), QCryptographicHash::Md5).toHex());
    };
    if (!info.isDir())
        return "file " + hash(path);
    QStringList entries;
    QDirIterator it(
        path, QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString file = it.next();
        const QString name = QDir(path).relativeFilePath(file);
        entries << (QFileInfo(file).isDir() ? name + "/" : name + " " + hash(file));
    }
    entries.sort();
    return "folder\n" + entries.join('\n');
}

// Copies every file of `from` (and of its subfolders) into `to`.
bool copyFolder(const QString &from, const QString &to)
{
    QDirIterator it(from, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString file = it.next();
        const QString target = to + "/" + QDir(from).relativeFilePath(file);
        if (!QDir().mkpath(QFileInfo(target).path()) || !QFile::copy(file, target))
            return false;
    }
    return true;
}

} // namespace

class TestCliTrain : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QProcessEnvironment m_env;
    QString m_data; // kWords x kClipsPerWord clips, plus yes/corrupt.wav
    QString m_model; // tiny random backbone, max_length 128
    QString m_cache; // --cache-dir of every run
    QString m_run; // full fine-tuning, kMainEpochs epochs (initTestCase)
    CliResult m_runResult;
    std::optional<CliResult> m_jsonRun; // runJson(): resumableArgs() run to the end

    QString tmpPath(const QString &name) const { return m_tmp.filePath(name); }

    void start(QProcess &p, const QStringList &args) const
    {
        p.setProcessEnvironment(m_env);
        p.setWorkingDirectory(m_tmp.path());
        p.start(kCli, args);
    }

    CliResult run(const QStringList &args) const
    {
        QProcess p;
        start(p, args);
        return collect(p, 300000);
    }

    // `astpeft train` on the dataset with a quarter of each class for validation (2 clips).
    QStringList trainArgs(const QString &out, const QStringList &more) const
    {
        return QStringList { "train", "--model", m_model, "--data", m_data, "--val-fraction",
            "0.25", "--cache-dir", m_cache, "--out", out }
        + more;
    }

    // LoRA, small batches and many epochs: long enough to be interrupted after epoch 1.
    QStringList resumableArgs(const QString &out) const
    {
        return trainArgs(out,
            { "--method", "lora", "--epochs", QString::number(kResumeEpochs), "--batch-size", "2",
                "--json" });
    }

    const CliResult &runJson()
    {
        if (!m_jsonRun)
            m_jsonRun = run(resumableArgs(tmpPath("json-run")));
        return *m_jsonRun;
    }

    int validationSize(const QJsonObject &import) const
    {
        int n = 0;
        const QJsonObject splits = import.value("splits").toObject();
        for (const QString &word : kWords)
            n += splits.value(word).toObject().value("validation").toInt();
        return n;
    }

    QStringList validClips() const
    {
        QStringList files;
        for (const QString &word : kWords) {
            for (const QString &name :
                QDir(m_data + "/" + word).entryList({ "*.wav" }, QDir::Files)) {
                if (name != "corrupt.wav")
                    files << m_data + "/" + word + "/" + name;
            }
        }
        return files;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QVERIFY2(QFileInfo(kCli).isExecutable(), qPrintable(kCli));
        m_env = isolatedEnvironment(tmpPath("home"));
        m_cache = tmpPath("cache");
        m_data = tmpPath("words");
        QCOMPARE(astpeft::test::writeWordDataset(m_data), kClasses * kClipsPerWord);
        QVERIFY(writeAll(m_data + "/yes/corrupt.wav", "RIFF\x10\0\0\0WAVEjunk, not audio"));
        m_model = tmpPath("model");
        {
            RUN_EXPECT(r,
                (QStringList {
                    "init-model", "--preset", "tiny", "--max-length", "128", "--out", m_model }),
                0);
        }
        m_run = tmpPath("run");
        const QStringList args = trainArgs(m_run,
            { "--method", "full", "--lr", "0.001", "--epochs", QString::number(kMainEpochs) });
        m_runResult = run(args);
        QVERIFY2(m_runResult.exitCode == 0, qPrintable(describe(args, m_runResult)));
    }

    void cleanupTestCase()
    {
        // --cache-dir was honoured everywhere: nothing went to the (redirected) user cache.
        QVERIFY2(!QFileInfo::exists(tmpPath("home/.cache/astpeft")),
            "a command wrote to ~/.cache/astpeft despite --cache-dir");
    }

    // --- train ------------------------------------------------------------------------------

    void trainWritesRunFolder()
    {
        for (const char *file : { "adapter_config.json", "adapter_model.safetensors",
                 "metrics.jsonl", "options.json", "command.txt", "confusion.csv",
                 "checkpoints/last/trainer_state.json", "checkpoints/last/optimizer.safetensors",
                 "checkpoints/last/adapter_model.safetensors" })
            QVERIFY2(QFileInfo(m_run + "/" + file).size() > 0, file);
        const QByteArray command = readAll(m_run + "/command.txt");
        QVERIFY2(command.startsWith("astpeft train "), command.constData());
        QVERIFY(command.contains("--method full"));
        QVERIFY(command.endsWith('\n'));
        QJsonParseError error;
        const QJsonDocument options =
            QJsonDocument::fromJson(readAll(m_run + "/options.json"), &error);
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        QVERIFY(options.isObject());
        const QJsonDocument state =
            QJsonDocument::fromJson(readAll(m_run + "/checkpoints/last/trainer_state.json"));
        QCOMPARE(state.object().value("epoch").toInt(), kMainEpochs);
        QCOMPARE(state.object().value("format").toString(), QString("astpeft-trainer-state"));
    }

    void noiseFilesOption()
    {
        // --noise-files adds background noise beside the dataset's: recorded in options.json
        // (so that --resume mixes the same), a path that gives no audio reported, not fatal.
        const QString noise = tmpPath("noise.wav");
        QDirIterator wavs(m_data + "/no", { "*.wav" });
        QVERIFY(wavs.hasNext());
        QVERIFY(QFile::copy(wavs.next(), noise));
        const QString missing = tmpPath("no-such-noise.wav");
        const QString out = tmpPath("run-noise");
        const QStringList args = trainArgs(out,
            { "--method", "linear", "--epochs", "1", "--noise", "1", "--noise-files",
                noise + "," + missing });
        const CliResult r = run(args);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
        const QJsonObject options =
            QJsonDocument::fromJson(readAll(out + "/options.json")).object();
        QCOMPARE(options.value("noise_files").toArray(), (QJsonArray { noise, missing }));
        QCOMPARE(options.value("augment").toObject().value("noise_probability").toDouble(), 1.0);
        QStringList skipped; // "FILE: reason" of the import event
        for (const QByteArray &line : readAll(out + "/metrics.jsonl").split('\n')) {
            for (const QJsonValue &v :
                QJsonDocument::fromJson(line).object().value("skipped").toArray())
                skipped << v["file"].toString() + ": " + v["reason"].toString();
        }
        QVERIFY2(
            skipped.contains(missing + ": noise file not found"), qPrintable(skipped.join('|')));
        for (const QString &line : skipped)
            QVERIFY2(!line.startsWith(noise + ":"), qPrintable(line)); // the real one is used
    }

    void metricsLogImport()
    {
        const QList<QJsonObject> events = metricsOf(m_run);
        QVERIFY(!events.isEmpty());
        const QJsonObject import = events.first();
        QCOMPARE(import.value("event").toString(), QString("import"));
        QCOMPARE(import.value("classes").toArray(), QJsonArray::fromStringList(kWords));
        const QJsonObject counts = import.value("counts").toObject();
        QCOMPARE(counts.size(), kWords.size());
        for (const QString &word : kWords)
            QCOMPARE(counts.value(word).toInt(), kClipsPerWord); // the corrupt clip not counted
        const QJsonArray skipped = import.value("skipped").toArray();
        QCOMPARE(skipped.size(), 1);
        const QJsonObject corrupt = skipped.first().toObject();
        QVERIFY2(corrupt.value("file").toString().endsWith("/yes/corrupt.wav"),
            qPrintable(corrupt.value("file").toString()));
        QVERIFY2(corrupt.value("reason").toString().startsWith("unreadable"),
            qPrintable(corrupt.value("reason").toString()));
        QCOMPARE(validationSize(import), kClasses * 2);
        QCOMPARE(import.value("method").toString(), QString("full"));
    }

    void metricsLogSteps()
    {
        const QList<QJsonObject> events = metricsOf(m_run);
        const QList<QJsonObject> steps = eventsNamed(events, "step");
        // 24 training clips in batches of 8.
        const int stepsPerEpoch = (kClasses * (kClipsPerWord - 2) + 7) / 8;
        QCOMPARE(steps.size(), kMainEpochs * stepsPerEpoch);
        for (int i = 0; i < steps.size(); ++i) {
            QCOMPARE(steps[i].value("step").toInteger(), qint64(i + 1));
            QCOMPARE(steps[i].value("epoch").toInt(), i / stepsPerEpoch + 1);
            QCOMPARE(steps[i].value("total_steps").toInteger(), qint64(steps.size()));
            QVERIFY(steps[i].value("loss").isDouble());
            QVERIFY(steps[i].value("learning_rate").toDouble() <= 0.001);
        }
        QCOMPARE(steps.first().value("learning_rate").toDouble(), 0.001); // no warm-up
        // Each epoch's steps come before its epoch line.
        QStringList expected { "import" };
        for (int e = 1; e <= kMainEpochs; ++e) {
            for (int s = 1; s <= stepsPerEpoch; ++s)
                expected << QStringLiteral("step %1.%2").arg(e).arg((e - 1) * stepsPerEpoch + s);
            expected << QStringLiteral("epoch %1").arg(e);
        }
        expected << "finished";
        QCOMPARE(eventKeys(events), expected);
    }

    void metricsLogEpochs()
    {
        const QList<QJsonObject> events = metricsOf(m_run);
        const int validation = validationSize(events.first());
        const QList<QJsonObject> epochs = eventsNamed(events, "epoch");
        QCOMPARE(epochs.size(), kMainEpochs);
        QVERIFY(epochs.first().value("best").toBool());
        for (int i = 0; i < epochs.size(); ++i) {
            const QJsonObject &e = epochs[i];
            QCOMPARE(e.value("epoch").toInt(), i + 1);
            QCOMPARE(e.value("epochs").toInt(), kMainEpochs);
            for (const char *key : { "train_loss", "val_loss", "val_accuracy", "train_accuracy" })
                QVERIFY2(e.value(key).isDouble(), key);
            const QJsonObject perClass = e.value("per_class").toObject();
            QCOMPARE(perClass.keys(), kWords);
            for (const QString &word : kWords) {
                const QJsonObject m = perClass.value(word).toObject();
                for (const char *key : { "precision", "recall", "f1", "accuracy" }) {
                    const double v = m.value(key).toDouble(-1);
                    QVERIFY2(
                        m.value(key).isDouble() && v >= 0 && v <= 1, qPrintable(word + ": " + key));
                }
                QCOMPARE(m.value("support").toInt(), 2);
            }
            const Matrix confusion = matrixOf(e.value("confusion").toArray());
            QCOMPARE(confusion.size(), kWords.size());
            qint64 correct = 0;
            for (int r = 0; r < confusion.size(); ++r) {
                QCOMPARE(confusion[r].size(), kWords.size());
                correct += confusion[r][r];
                // Per-class accuracy is the recall: the diagonal over the row.
                QCOMPARE(perClass.value(kWords[r]).toObject().value("accuracy").toDouble(),
                    double(confusion[r][r]) / 2.0);
            }
            QCOMPARE(total(confusion), qint64(validation));
            QCOMPARE(e.value("val_accuracy").toDouble(), double(correct) / double(validation));
        }

        const QJsonObject finished = events.last();
        QCOMPARE(finished.value("event").toString(), QString("finished"));
        QCOMPARE(finished.value("reason").toString(), QString("completed"));
        QCOMPARE(finished.value("epochs_completed").toInt(), kMainEpochs);
        const std::optional<QJsonObject> best = bestEpoch(events);
        QVERIFY(best);
        QCOMPARE(finished.value("best_epoch").toInt(), best->value("epoch").toInt());
        QCOMPARE(
            finished.value("best_val_accuracy").toDouble(), best->value("val_accuracy").toDouble());

        // confusion.csv is the best epoch's matrix.
        QStringList labels;
        Matrix csv;
        QVERIFY2(readConfusionCsv(m_run + "/confusion.csv", labels, csv),
            readAll(m_run + "/confusion.csv").constData());
        QCOMPARE(labels, kWords);
        QCOMPARE(csv, matrixOf(best->value("confusion").toArray()));
    }

    void trainPrintsFinalTable()
    {
        const QString out = QString::fromUtf8(m_runResult.out);
        QVERIFY2(out.contains(QStringLiteral("full: completed after %1 epochs").arg(kMainEpochs)),
            qPrintable(out));
        const QStringList lines = out.split('\n');
        for (const QString &name : kWords + QStringList { "overall" }) {
            bool found = false;
            for (const QString &line : lines)
                found |= line.startsWith(name + " ") && line.contains('%');
            QVERIFY2(found, qPrintable("no table row for " + name + " in\n" + out));
        }
        QVERIFY(out.contains(m_run));
        // The import report and the skipped file go to stderr.
        QVERIFY2(m_runResult.err.contains("corrupt.wav"), m_runResult.err.constData());
    }

    // --- --json -----------------------------------------------------------------------------

    void jsonEventsMatchMetricsLog()
    {
        const CliResult &r = runJson();
        QVERIFY2(r.exitCode == 0, qPrintable(describe(resumableArgs(tmpPath("json-run")), r)));
        QVERIFY(r.out.endsWith('\n'));
        for (const QByteArray &line : r.out.split('\n')) {
            if (line.isEmpty())
                continue;
            QJsonParseError error;
            const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
            QVERIFY2(error.error == QJsonParseError::NoError && doc.isObject(), line.constData());
            QVERIFY2(doc.object().value("event").isString(), line.constData());
        }
        const QList<QJsonObject> printed = jsonLines(r.out);
        const QList<QJsonObject> logged = metricsOf(tmpPath("json-run"));
        QVERIFY(!logged.isEmpty());
        QCOMPARE(eventKeys(printed), eventKeys(logged));
        QCOMPARE(eventsNamed(printed, "epoch").size(), kResumeEpochs);
        QCOMPARE(printed.last().value("event").toString(), QString("finished"));
        QCOMPARE(printed, logged); // the same lines, not only the same events
    }

    // --- eval -------------------------------------------------------------------------------

    void evalReproducesBestEpoch()
    {
        RUN_EXPECT(r, (QStringList { "eval", m_run, "--split", "validation", "--json" }), 0);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 1);
        const QJsonObject eval = lines.first();
        const std::optional<QJsonObject> best = bestEpoch(metricsOf(m_run));
        QVERIFY(best);
        QCOMPARE(eval.value("split").toString(), QString("validation"));
        QCOMPARE(eval.value("examples").toInt(), kClasses * 2);
        QCOMPARE(eval.value("accuracy").toDouble(), best->value("val_accuracy").toDouble());
        QCOMPARE(eval.value("per_class").toObject(), best->value("per_class").toObject());
        QCOMPARE(eval.value("macro_f1").toDouble(), best->value("val_macro_f1").toDouble());
        QVERIFY(qAbs(eval.value("loss").toDouble() - best->value("val_loss").toDouble()) < 1e-5);
        QStringList labels;
        Matrix csv;
        QVERIFY(readConfusionCsv(m_run + "/confusion.csv", labels, csv));
        QCOMPARE(matrixOf(eval.value("confusion").toArray()), csv);
        QCOMPARE(eval.value("skipped").toArray().size(), 1); // corrupt.wav
    }

    // options.json records absolute paths, so `eval RUN` works from another folder for a run
    // trained with relative --model, --data and --out; a run recorded with relative paths (by
    // an older astpeft) is read relative to the folder it was started from.
    void evalFromAnotherFolder()
    {
        const QString out = tmpPath("relative-run");
        RUN_EXPECT(trained,
            (QStringList { "train", "--model", "model", "--data", "words", "--val-fraction", "0.25",
                "--cache-dir", m_cache, "--out", "relative-run", "--method", "linear", "--epochs",
                "1" }),
            0);
        const QJsonObject options =
            QJsonDocument::fromJson(readAll(out + "/options.json")).object();
        const auto sameFile = [](const QJsonValue &recorded, const QString &path) {
            return QFileInfo(recorded.toString()).isAbsolute()
                && QFileInfo(recorded.toString()).canonicalFilePath()
                == QFileInfo(path).canonicalFilePath();
        };
        QVERIFY2(
            sameFile(options.value("data"), m_data), qPrintable(options.value("data").toString()));
        QVERIFY(sameFile(options.value("model"), m_model));
        QVERIFY(sameFile(options.value("out"), out));

        const QStringList eval { "eval", out, "--split", "validation", "--json" };
        const CliResult fromElsewhere = runIn(kCli, tmpPath("home"), eval, m_env);
        QVERIFY2(fromElsewhere.exitCode == 0, qPrintable(describe(eval, fromElsewhere)));
        const QList<QJsonObject> lines = jsonLines(fromElsewhere.out);
        QCOMPARE(lines.size(), 1);
        QCOMPARE(lines.first().value("examples").toInt(), kClasses * 2);

        QJsonObject old = options;
        old["data"] = "words";
        old["model"] = "model";
        old["out"] = "relative-run";
        QVERIFY(writeAll(out + "/options.json", QJsonDocument(old).toJson()));
        const CliResult oldRun = runIn(kCli, tmpPath("home"), eval, m_env);
        QVERIFY2(oldRun.exitCode == 0, qPrintable(describe(eval, oldRun)));
        QCOMPARE(oldRun.out, fromElsewhere.out);
    }

    // Issue 17: eval with every clip unusable (each passes the import's probe, none decodes)
    // reported "accuracy 0.0%" with exit status 0. It is an input error naming the first reason.
    void evalWithNoReadableClip()
    {
        const QString data = tmpPath("nan-data");
        for (const QString &word : kWords) {
            QVERIFY(QDir().mkpath(data + "/" + word));
            // Its header passes the import's probe; decoding it fails.
            astpeft::core::writeAudio((data + "/" + word + "/nan.wav").toStdString(),
                std::vector<float>(16000, std::numeric_limits<float>::quiet_NaN()), 16000, 1,
                "FLOAT");
        }
        const QStringList args { "eval", m_run, "--data", data, "--split", "train" };
        const CliResult r = run(args);
        QVERIFY2(r.exitCode == 1, qPrintable(describe(args, r)));
        QVERIFY2(isOneLine(r.err), r.err.constData());
        QVERIFY2(
            r.err.contains(
                (data + ": no clip of the train split could be read (4 clips; first: ").toUtf8()),
            r.err.constData());
        QVERIFY2(r.err.contains("/nan.wav: non-finite sample (NaN)"), r.err.constData());
        QVERIFY2(!r.out.contains("accuracy"), r.out.constData());
    }

    // Issue 17: eval on a dataset none of whose labels the adapter has said "the train split of
    // the dataset is empty". It names a clip and its label.
    void evalWithNoKnownLabel()
    {
        const QString data = tmpPath("other-labels");
        QVERIFY(copyFolder(m_data + "/yes", data + "/Yes"));
        QFile::remove(data + "/Yes/corrupt.wav");
        const QStringList args { "eval", m_run, "--data", data, "--split", "train" };
        const CliResult r = run(args);
        QVERIFY2(r.exitCode == 1, qPrintable(describe(args, r)));
        QVERIFY2(isOneLine(r.err), r.err.constData());
        QVERIFY2(r.err.contains((data
                     + ": no clip of the train split has one of the adapter's "
                       "labels (")
                                    .toUtf8()),
            r.err.constData());
        QVERIFY2(r.err.contains(": label 'Yes' is not one of the adapter's)"), r.err.constData());
    }

    // --- predict --adapter ------------------------------------------------------------------

    // The top-1 label of every clip, counted by true class, is what eval counts over the train
    // and validation splits together (the run has no test split).
    void predictAgreesWithEval()
    {
        const QStringList clips = validClips();
        QCOMPARE(clips.size(), qsizetype(kClasses * kClipsPerWord));
        RUN_EXPECT(r,
            (QStringList { "predict", m_model, "--adapter", m_run, "--json", "--top-k", "10" }
                + clips),
            0);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), clips.size());
        Matrix predicted = zeros(kClasses);
        for (int i = 0; i < lines.size(); ++i) {
            QCOMPARE(lines[i].value("file").toString(), clips[i]);
            const QJsonArray top = lines[i].value("top").toArray();
            QCOMPARE(top.size(), kWords.size()); // every class, the top-k is capped
            QStringList seen;
            double sum = 0.0, previous = 2.0;
            for (const QJsonValue &v : top) {
                const QString label = v.toObject().value("label").toString();
                const double score = v.toObject().value("score").toDouble(-1);
                QVERIFY2(kWords.contains(label), qPrintable(label));
                QVERIFY(!seen.contains(label));
                seen << label;
                QVERIFY(score >= 0 && score <= previous);
                previous = score;
                sum += score;
            }
            QVERIFY2(qAbs(sum - 1.0) < 1e-4, qPrintable(QString::number(sum, 'g', 10)));
            const int truth = int(kWords.indexOf(QFileInfo(clips[i]).dir().dirName()));
            const int guess = int(kWords.indexOf(top.first().toObject().value("label").toString()));
            ++predicted[truth][guess];
        }
        Matrix counted = zeros(kClasses);
        for (const char *split : { "train", "validation" }) {
            RUN_EXPECT(e, (QStringList { "eval", m_run, "--split", split, "--json" }), 0);
            const QList<QJsonObject> eval = jsonLines(e.out);
            QCOMPARE(eval.size(), 1);
            counted = plus(counted, matrixOf(eval.first().value("confusion").toArray()));
        }
        QCOMPARE(total(counted), qint64(clips.size()));
        QCOMPARE(predicted, counted);
    }

    // --- export -----------------------------------------------------------------------------

    // The full run merged into a plain checkpoint gives the logits of backbone + adapter, with
    // the run's labels, and is usable as --model (info reads it).
    void exportMergesFullRun()
    {
        const QString out = tmpPath("exported");
        RUN_EXPECT(e, (QStringList { "export", m_run, "--out", out }), 0);
        QVERIFY2(e.out.contains(out.toUtf8()), e.out.constData());
        const QStringList clips = validClips().mid(0, 4);
        RUN_EXPECT(merged, (QStringList { "predict", out, "--json", "--logits" } + clips), 0);
        RUN_EXPECT(adapter,
            (QStringList { "predict", m_model, "--adapter", m_run, "--json", "--logits" } + clips),
            0);
        const QList<QJsonObject> a = jsonLines(merged.out), b = jsonLines(adapter.out);
        QCOMPARE(a.size(), clips.size());
        QCOMPARE(b.size(), clips.size());
        for (int i = 0; i < a.size(); ++i) {
            const QJsonArray la = a[i].value("logits").toArray(),
                             lb = b[i].value("logits").toArray();
            QCOMPARE(la.size(), kWords.size());
            QCOMPARE(la.size(), lb.size());
            for (int k = 0; k < la.size(); ++k) {
                QVERIFY2(qAbs(la[k].toDouble() - lb[k].toDouble()) < 1e-4,
                    qPrintable(QString("clip %1 logit %2: %3 vs %4")
                                   .arg(i)
                                   .arg(k)
                                   .arg(la[k].toDouble())
                                   .arg(lb[k].toDouble())));
            }
            QCOMPARE(a[i].value("top").toArray().first().toObject().value("label"),
                b[i].value("top").toArray().first().toObject().value("label"));
        }
        RUN_EXPECT(info, (QStringList { "info", out, "--json" }), 0);
        const QJsonArray labels =
            QJsonDocument::fromJson(info.out).object().value("labels").toArray();
        QCOMPARE(labels.size(), kWords.size());
        RUN_EXPECT(bad, (QStringList { "export", tmpPath("no-such-run"), "--out", out + "2" }), 1);
        QVERIFY2(bad.err.contains("no-such-run"), bad.err.constData());
        QVERIFY(!QFileInfo::exists(out + "2"));
    }

    // --dtype bf16 stores every weight as BF16 (half the file) and says so in config.json; the
    // logits stay within bf16's rounding of the float32 export's.
    void exportInBf16()
    {
        const QString full = tmpPath("exported-f32"), half = tmpPath("exported-bf16");
        RUN_EXPECT(a, (QStringList { "export", m_run, "--out", full }), 0);
        RUN_EXPECT(b, (QStringList { "export", m_run, "--out", half, "--dtype", "bf16" }), 0);
        const qint64 fullSize = QFileInfo(full + "/model.safetensors").size();
        const qint64 halfSize = QFileInfo(half + "/model.safetensors").size();
        QVERIFY2(halfSize < fullSize * 0.55 && halfSize > fullSize * 0.45,
            qPrintable(QString("%1 vs %2 bytes").arg(halfSize).arg(fullSize)));
        const QByteArray header = readAll(half + "/model.safetensors").mid(8, 4000);
        QVERIFY2(header.contains("\"BF16\"") && !header.contains("\"F32\""), header.constData());
        const QJsonObject config = QJsonDocument::fromJson(readAll(half + "/config.json")).object();
        QCOMPARE(config.value("torch_dtype").toString(), QString("bfloat16"));
        const QStringList clips = validClips().mid(0, 2);
        RUN_EXPECT(pf, (QStringList { "predict", full, "--json", "--logits" } + clips), 0);
        RUN_EXPECT(ph, (QStringList { "predict", half, "--json", "--logits" } + clips), 0);
        const QList<QJsonObject> lf = jsonLines(pf.out), lh = jsonLines(ph.out);
        QCOMPARE(lh.size(), clips.size());
        double diff = 0;
        for (int i = 0; i < lf.size(); ++i) {
            const QJsonArray x = lf[i].value("logits").toArray(),
                             y = lh[i].value("logits").toArray();
            for (int k = 0; k < x.size(); ++k)
                diff = qMax(diff, qAbs(x[k].toDouble() - y[k].toDouble()));
        }
        QVERIFY2(diff > 0 && diff < 0.1, qPrintable(QString::number(diff)));
        RUN_EXPECT(
            bad, (QStringList { "export", m_run, "--out", tmpPath("x"), "--dtype", "int4" }), 2);
        QVERIFY2(bad.err.contains("--dtype must be fp32, bf16 or fp16"), bad.err.constData());
    }

    // --- resume -----------------------------------------------------------------------------

    // Ctrl-C after the first finished epoch, then --resume: the same adapter, bit for bit, and
    // the same log as the uninterrupted run (runJson(), same options).
    void resumeIsBitIdentical()
    {
        const QString a = tmpPath("json-run");
        QVERIFY2(runJson().exitCode == 0, runJson().err.constData());
        const QString b = tmpPath("interrupted");
        const QStringList args = resumableArgs(b);
        QProcess p;
        start(p, args);
        QVERIFY(p.waitForStarted(30000));
        QByteArray out;
        QElapsedTimer timer;
        timer.start();
        while (!out.contains("\"event\":\"epoch\"") && p.state() == QProcess::Running
            && timer.elapsed() < 300000) {
            p.waitForReadyRead(1000);
            out += p.readAllStandardOutput();
        }
        QVERIFY2(out.contains("\"event\":\"epoch\""), out.constData());
        QVERIFY2(p.state() == QProcess::Running, "the run finished before it could be interrupted");
        QCOMPARE(::kill(pid_t(p.processId()), SIGINT), 0);
        timer.restart();
        QVERIFY(p.waitForFinished(30000));
        QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed()) + " ms"));
        out += p.readAllStandardOutput();
        const QByteArray err = p.readAllStandardError();
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QVERIFY2(p.exitCode() == 130, err.constData()); // cancelled: not an input error (1)

        // The cancelled run: its last line says so; checkpoints/last holds the finished epochs.
        const QList<QJsonObject> printed = jsonLines(out);
        QVERIFY(!printed.isEmpty());
        const QJsonObject cancelled = printed.last();
        QCOMPARE(cancelled.value("event").toString(), QString("finished"));
        QCOMPARE(cancelled.value("reason").toString(), QString("cancelled"));
        const int done = cancelled.value("epochs_completed").toInt();
        QVERIFY2(done >= 1 && done < kResumeEpochs, qPrintable(QString::number(done)));
        const QList<QJsonObject> logged = metricsOf(b);
        QCOMPARE(logged, printed);
        for (const QJsonObject &e : logged)
            QVERIFY(e.value("reason").toString() != "completed");
        const QJsonObject state =
            QJsonDocument::fromJson(readAll(b + "/checkpoints/last/trainer_state.json")).object();
        QCOMPARE(state.value("epoch").toInt(), done);

        RUN_EXPECT(resumed, (QStringList { "train", "--resume", "--out", b, "--json" }), 0);
        const QList<QJsonObject> continued = jsonLines(resumed.out);
        QVERIFY(!continued.isEmpty());
        // The import is reported again but not logged again; training goes on after `done`.
        QCOMPARE(continued.first().value("event").toString(), QString("import"));
        QCOMPARE(eventsNamed(metricsOf(b), "import").size(), 1);
        QVERIFY(continued.size() > 1);
        QCOMPARE(continued[1].value("event").toString(), QString("step"));
        QCOMPARE(continued[1].value("epoch").toInt(), done + 1);
        const QList<QJsonObject> afterResume = metricsOf(b);
        QVERIFY(afterResume.size() >= continued.size() - 1);
        QVERIFY(afterResume.mid(afterResume.size() - (continued.size() - 1)) == continued.mid(1));

        for (const char *file : { "adapter_model.safetensors", "adapter_config.json",
                 "confusion.csv", "checkpoints/last/adapter_model.safetensors",
                 "checkpoints/last/optimizer.safetensors" }) {
            const QByteArray bytes = readAll(a + "/" + file);
            QVERIFY2(!bytes.isEmpty(), file);
            QVERIFY2(readAll(b + "/" + file) == bytes, file);
        }
        const QList<QJsonObject> whole = metricsOf(a), pieced = metricsOf(b);
        QCOMPARE(eventKeys(pieced), eventKeys(whole));
        for (int i = 0; i < whole.size(); ++i) {
            QJsonObject x = whole[i], y = pieced[i];
            // Timings and the run folder differ; everything else is reproduced exactly.
            for (const char *key : { "seconds", "eta_seconds", "samples_per_second", "run" }) {
                x.remove(key);
                y.remove(key);
            }
            QVERIFY2(x == y,
                qPrintable(QString("line %1:\n%2\n%3")
                               .arg(i + 1)
                               .arg(QString::fromUtf8(QJsonDocument(whole[i]).toJson()),
                                   QString::fromUtf8(QJsonDocument(pieced[i]).toJson()))));
        }
        QCOMPARE(pieced.last().value("run").toString(), b);
        // The fields named in the contract, explicitly.
        const auto epochRows = [](const QList<QJsonObject> &events) {
            QList<QList<double>> rows;
            for (const QJsonObject &e : eventsNamed(events, "epoch")) {
                rows.append({ e.value("epoch").toDouble(), e.value("train_loss").toDouble(),
                    e.value("val_loss").toDouble(), e.value("val_accuracy").toDouble() });
            }
            return rows;
        };
        QCOMPARE(epochRows(pieced), epochRows(whole));
    }

    // SIGKILL in the first epoch, before any checkpoint: --resume starts the run again from the
    // start and ends with the uninterrupted run's adapter and log (runJson(), same options).
    void runKilledInFirstEpochResumes()
    {
        const QString a = tmpPath("json-run");
        QVERIFY2(runJson().exitCode == 0, runJson().err.constData());
        const QString b = tmpPath("killed");
        QProcess p;
        start(p, resumableArgs(b));
        QVERIFY(p.waitForStarted(30000));
        // Kill it once it has logged its import (on stdout: flushed) and before its first epoch
        // ends (checked with the process stopped).
        QByteArray printed;
        while (!printed.contains("\"event\":\"import\"") && p.state() == QProcess::Running) {
            p.waitForReadyRead(1000);
            printed += p.readAllStandardOutput();
        }
        QVERIFY2(p.state() == QProcess::Running, "the run ended before it could be killed");
        QCOMPARE(::kill(pid_t(p.processId()), SIGSTOP), 0);
        const QByteArray log = readAll(b + "/metrics.jsonl");
        const bool inFirstEpoch = !log.contains("\"event\":\"epoch\"");
        QCOMPARE(::kill(pid_t(p.processId()), SIGKILL), 0);
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitStatus(), QProcess::CrashExit);
        QVERIFY2(inFirstEpoch, log.constData());
        QVERIFY(!QFileInfo::exists(b + "/checkpoints/last"));

        RUN_EXPECT(resumed, (QStringList { "train", "--resume", "--out", b, "--json" }), 0);
        QCOMPARE(jsonLines(resumed.out).last().value("reason").toString(), QString("completed"));
        for (const char *file : { "adapter_model.safetensors", "confusion.csv" })
            QVERIFY2(readAll(b + "/" + file) == readAll(a + "/" + file), file);
        QCOMPARE(eventKeys(metricsOf(b)), eventKeys(metricsOf(a)));
    }

    // Two trainings on one --out: while the first holds the run folder (here stopped with
    // SIGSTOP after its import), a second one, or a --resume, is refused at once with one line
    // naming the folder and the first one's PID; the first then finishes with a clean log.
    void secondTrainingOnTheSameRunIsRefused()
    {
        const QString out = tmpPath("locked");
        const QStringList args =
            trainArgs(out, { "--method", "lora", "--epochs", "2", "--batch-size", "4", "--json" });
        QProcess first;
        start(first, args);
        QVERIFY(first.waitForStarted(30000));
        QByteArray printed;
        while (!printed.contains("\"event\":\"import\"") && first.state() == QProcess::Running) {
            first.waitForReadyRead(1000);
            printed += first.readAllStandardOutput();
        }
        QVERIFY2(printed.contains("\"event\":\"import\""), printed.constData());
        const qint64 pid = first.processId();
        QCOMPARE(::kill(pid_t(pid), SIGSTOP), 0);
        const QString refusal =
            QStringLiteral("astpeft: %1: the run folder is in use by process %2\n")
                .arg(out)
                .arg(pid);
        const CliResult second = run(args);
        const CliResult resumed = run({ "train", "--resume", "--out", out });
        QCOMPARE(::kill(pid_t(pid), SIGCONT), 0);
        const CliResult firstResult = collect(first, 300000);
        QVERIFY2(second.exitCode == 1, qPrintable(describe(args, second)));
        QCOMPARE(QString::fromUtf8(second.err), refusal);
        QVERIFY(second.out.isEmpty());
        QVERIFY2(resumed.exitCode == 1, qPrintable(describe({ "train", "--resume" }, resumed)));
        QCOMPARE(QString::fromUtf8(resumed.err), refusal);
        QVERIFY2(firstResult.exitCode == 0, qPrintable(describe(args, firstResult)));
        const QList<QJsonObject> events = metricsOf(out);
        QVERIFY(!events.isEmpty()); // every line parses
        QCOMPARE(eventsNamed(events, "import").size(), 1);
        QCOMPARE(eventsNamed(events, "epoch").size(), 2);
        QCOMPARE(events.last().value("reason").toString(), QString("completed"));
    }

    // --- compare ----------------------------------------------------------------------------

    void compareWritesTable()
    {
        const QString dir = tmpPath("compare");
        RUN_EXPECT(r,
            (QStringList { "compare", "--model", m_model, "--data", m_data, "--methods",
                "lora,adapter,linear,full", "--budget", "2%", "--epochs", "2", "--val-fraction",
                "0.25", "--cache-dir", m_cache, "--out", dir }),
            0);
        const QList<QStringList> rows = csvRows(dir + "/comparison.csv");
        QCOMPARE(rows.size(), 5);
        QCOMPARE(rows[0],
            QStringList({ "method", "trainable_parameters", "best_val_accuracy", "test_accuracy",
                "seconds", "status" }));
        QVERIFY(QFileInfo(dir + "/comparison.md").size() > 0);
        const QStringList methods { "lora", "adapter", "linear" };
        for (int i = 0; i < methods.size(); ++i) {
            const QStringList &row = rows[i + 1];
            QCOMPARE(row.size(), 6);
            QCOMPARE(row[0], methods[i]);
            QCOMPARE(row[5], QString("completed"));
            const QString run = dir + "/" + methods[i];
            QVERIFY2(QFileInfo(run + "/adapter_model.safetensors").size() > 0, qPrintable(run));
            const QList<QJsonObject> events = metricsOf(run);
            QVERIFY(events.size() > 2);
            const QJsonObject parameters = events.first().value("parameters").toObject();
            QCOMPARE(row[1].toLongLong(), parameters.value("trainable").toInteger());
            // Sized for the budget: 2% of the backbone, the head not counted.
            QVERIFY2(parameters.value("without_head").toInteger()
                    <= qint64(0.02 * double(parameters.value("backbone").toInteger())),
                qPrintable(methods[i]));
            const QJsonObject finished = events.last();
            QCOMPARE(finished.value("reason").toString(), QString("completed"));
            QCOMPARE(finished.value("epochs_completed").toInt(), 2);
            QVERIFY(
                qAbs(row[2].toDouble() - finished.value("best_val_accuracy").toDouble()) < 1e-5);
            QVERIFY(readAll(run + "/command.txt").startsWith("astpeft train "));
            QVERIFY2(r.out.contains(("| " + methods[i] + " |").toUtf8()), r.out.constData());
        }
        // Full fine-tuning cannot fit 2%: reported, no run folder, the others still ran.
        const QStringList &full = rows[4];
        QCOMPARE(full[0], QString("full"));
        QCOMPARE(full[1], QString("0"));
        QVERIFY2(full[5].contains("over the budget"), qPrintable(full[5]));
        QVERIFY(!QFileInfo::exists(dir + "/full"));
    }

    // --- bad input --------------------------------------------------------------------------

    void inputErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QStringList>("mentions");
        QTest::addColumn<QString>("untouched"); // the run folder (or file) that must not change

        const QStringList lora { "--method", "lora", "--epochs", "1" };
        const auto trainOn = [&](const QString &data, const QString &out,
                                 const QStringList &more = {}) {
            return QStringList { "train", "--model", m_model, "--data", data, "--cache-dir",
                m_cache, "--out", out }
            + lora + more;
        };

        QVERIFY(QDir().mkpath(tmpPath("bad")));
        const QString manifest = tmpPath("bad/missing.csv");
        writeAll(manifest,
            QStringLiteral("path,label\n%1/gone1.wav,yes\n%1/gone2.wav,no\n")
                .arg(tmpPath("bad"))
                .toUtf8());
        QTest::addRow("manifest of missing files")
            << trainOn(manifest, tmpPath("out/manifest")) << 2
            << QStringList { manifest + ": no usable audio clip", "gone1.wav: missing file" }
            << tmpPath("out/manifest");

        const QString file = tmpPath("bad/a-file");
        writeAll(file, "not a folder\n");
        QTest::addRow("run folder under a file")
            << trainOn(m_data, file + "/run") << 1
            << QStringList { file + "/run: the run folder is not writable" } << file;
        QTest::addRow("existing run without --resume")
            << trainOn(m_data, m_run) << 2
            << QStringList { m_run + ": the folder already holds a run", "--resume" } << m_run;

        const QString emptyRun = tmpPath("out/empty-run");
        QDir().mkpath(emptyRun);
        QTest::addRow("resume without options.json")
            << QStringList { "train", "--resume", "--out", emptyRun } << 2
            << QStringList { emptyRun + ": nothing to resume" } << emptyRun;
        QTest::addRow("resume with other options")
            << QStringList { "train", "--resume", "--out", m_run, "--lr", "0.1" } << 2
            << QStringList { "--resume continues the run with its own options", "--lr" } << m_run;

        QTest::addRow("no --method")
            << QStringList { "train", "--model", m_model, "--data", m_data, "--out",
                   tmpPath("out/no-method") }
            << 2 << QStringList { "--method is required" } << tmpPath("out/no-method");
    }
    void inputErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QStringList, mentions);
        QFETCH(QString, untouched);
        const QString before = snapshot(untouched);
        const CliResult r = run(args);
        QVERIFY2(r.exitCode == exitCode, qPrintable(describe(args, r)));
        // One line naming the problem; a usage error adds the command's synopsis.
        const QList<QByteArray> lines = r.err.trimmed().split('\n');
        QVERIFY2(r.err.endsWith('\n')
                && (lines.size() == 1
                    || (lines.size() == 2 && lines[1].startsWith("usage: astpeft train"))),
            qPrintable(describe(args, r)));
        QVERIFY2(lines[0].startsWith("astpeft"), lines[0].constData());
        for (const QString &m : mentions)
            QVERIFY2(lines[0].contains(m.toUtf8()), qPrintable(m + "\n" + describe(args, r)));
        QVERIFY2(r.out.isEmpty(), r.out.constData());
        QVERIFY2(snapshot(untouched) == before, "an input error wrote to the run folder");
    }

    // Sizes in a run's adapter_config.json are checked (bounds, then against the backbone)
    // before anything is sized from them: one line naming the file and the field, exit 1.
    // num_mel_bins 1000000 once grew eval to 24 GB (issue 17, defect 2); the child runs under
    // a 4 GB address-space cap so that a regression fails here instead.
    void evalRefusesAdapterSizes_data()
    {
        QTest::addColumn<QString>("section");
        QTest::addColumn<QString>("field");
        QTest::addColumn<int>("value");
        QTest::addColumn<QString>("mention");
        QTest::addRow("mel bins huge") << "preprocessing"
                                       << "num_mel_bins" << 1000000 << "preprocessing.num_mel_bins";
        QTest::addRow("mel bins not the backbone's")
            << "preprocessing"
            << "num_mel_bins" << 64 << "backbone's num_mel_bins is 128";
        QTest::addRow("max_length huge") << "preprocessing"
                                         << "max_length" << 10000000 << "preprocessing.max_length";
        QTest::addRow("too many tokens") << "preprocessing"
                                         << "max_length" << 90000 << "tokens on this backbone";
        QTest::addRow("sampling rate 1") << "preprocessing"
                                         << "sampling_rate" << 1 << "preprocessing.sampling_rate";
        QTest::addRow("hidden size") << "backbone"
                                     << "hidden_size" << 1000000 << "backbone.hidden_size";
    }
    void evalRefusesAdapterSizes()
    {
        QFETCH(QString, section);
        QFETCH(QString, field);
        QFETCH(int, value);
        QFETCH(QString, mention);
        const QString run = tmpPath("sizes-" + QString::fromUtf8(QTest::currentDataTag()));
        QVERIFY(copyFolder(m_run, run));
        const QString config = run + "/adapter_config.json";
        QJsonObject manifest = QJsonDocument::fromJson(readAll(config)).object();
        QJsonObject part = manifest.value(section).toObject();
        QVERIFY(part.contains(field));
        part[field] = value;
        manifest[section] = part;
        QVERIFY(writeAll(config, QJsonDocument(manifest).toJson()));
        const QStringList args { "eval", run };
        QProcess p;
        capAddressSpace(p);
        start(p, args);
        const CliResult r = collect(p, 300000);
        QVERIFY2(r.exitCode == 1, qPrintable(describe(args, r)));
        QVERIFY2(isOneLine(r.err), qPrintable(describe(args, r)));
        QVERIFY2(r.err.contains(config.toUtf8()) && r.err.contains(mention.toUtf8()),
            qPrintable(describe(args, r)));
    }

    void unwritableRunFolder()
    {
        if (::geteuid() == 0)
            QSKIP("root can write into a read-only folder");
        const QString parent = tmpPath("read-only");
        QVERIFY(QDir().mkpath(parent));
        QVERIFY(QFile::setPermissions(parent, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
        const QStringList args = trainArgs(parent + "/run", { "--method", "lora" });
        const CliResult r = run(args);
        QFile::setPermissions(
            parent, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        QVERIFY2(r.exitCode == 1, qPrintable(describe(args, r)));
        QVERIFY(isOneLine(r.err));
        QVERIFY2(r.err.contains((parent + "/run: the run folder is not writable").toUtf8()),
            r.err.constData());
        QVERIFY(!QFileInfo::exists(parent + "/run"));
    }

    // A class with a single clip is no error: the clip trains, the class has no validation clip.
    void singleClipClassTrains()
    {
        const QString data = tmpPath("single-clip");
        for (const QString &word : QStringList { "yes", "no" })
            QVERIFY(copyFolder(m_data + "/" + word, data + "/" + word));
        QVERIFY(QDir().mkpath(data + "/up"));
        QVERIFY(QFile::copy(m_data + "/up/en_140_50.wav", data + "/up/only.wav"));
        RUN_EXPECT(r,
            (QStringList { "train", "--model", m_model, "--data", data, "--cache-dir", m_cache,
                "--out", tmpPath("single-clip-run"), "--method", "linear", "--epochs", "1",
                "--json" }),
            0);
        const QList<QJsonObject> events = jsonLines(r.out);
        QVERIFY(!events.isEmpty());
        const QJsonObject up = events.first().value("splits").toObject().value("up").toObject();
        QCOMPARE(up, QJsonObject({ { "train", 1 } }));
        QCOMPARE(events.last().value("reason").toString(), QString("completed"));
    }

    // A folder holding a copy of a run's options.json but no finished epoch has nothing to
    // resume, and resuming it must not touch the run the options came from. The source is a
    // copy of the main run whose options.json names it as "out" (no training of its own).
    void resumeWithoutCheckpoint()
    {
        const QString source = tmpPath("orphan-source");
        QVERIFY(copyFolder(m_run, source));
        QJsonObject options = QJsonDocument::fromJson(readAll(m_run + "/options.json")).object();
        QCOMPARE(options.value("out").toString(), m_run);
        options["out"] = source;
        QVERIFY(writeAll(source + "/options.json", QJsonDocument(options).toJson()));
        const QString orphan = tmpPath("orphan");
        QVERIFY(QDir().mkpath(orphan));
        QVERIFY(QFile::copy(source + "/options.json", orphan + "/options.json"));
        const QString sourceBefore = snapshot(source), orphanBefore = snapshot(orphan);
        const QStringList args { "train", "--resume", "--out", orphan };
        const CliResult r = run(args);
        QVERIFY2(snapshot(source) == sourceBefore,
            qPrintable("resuming " + orphan + " rewrote " + source + "\n" + describe(args, r)));
        QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
        QVERIFY2(r.err.contains((orphan + ": nothing to resume").toUtf8()), r.err.constData());
        QVERIFY(isOneLine(r.err));
        QCOMPARE(snapshot(orphan), orphanBefore);
    }

    // Every clip passes the import probe but none decodes with --channel 1 (they are mono), so
    // no class has a readable training clip: an input error, found before training, that must
    // leave no run folder behind (trainer.h: before the run folder is touched).
    void unreadableTrainingClipsLeaveNoRunFolder()
    {
        const QString out = tmpPath("channel-1");
        const QStringList args =
            trainArgs(out, { "--method", "lora", "--epochs", "1", "--channel", "1" });
        const CliResult r = run(args);
        QVERIFY2(r.exitCode == 1 || r.exitCode == 2, qPrintable(describe(args, r)));
        QVERIFY(isOneLine(r.err));
        QVERIFY2(r.err.contains("class 'down' has no readable training clip"), r.err.constData());
        QVERIFY2(!QFileInfo::exists(out),
            qPrintable("an input error left a run folder: " + snapshot(out)));
    }
};

QTEST_GUILESS_MAIN(TestCliTrain)
#include "tst_cli_train.moc"
