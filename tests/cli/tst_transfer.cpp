// SPDX-License-Identifier: MIT
// The bundled backbone's pretraining transfers: on the demo task, which its pretraining never
// saw (ten Speech Commands words, and a background class, in espeak-ng voices held out of the
// pretraining corpus), a conformer adapter and LoRA trained few-shot on the bundled backbone
// reach clearly higher validation accuracy than the same training, same steps and seed, on a
// randomly initialised backbone of the same architecture (`astpeft init-model` with the shape
// in resources/backbone/config.json). Runs the built CLI on the committed resources/backbone
// and resources/demo. The thresholds are conservative: bench/README.md, "Transfer", has the
// measured margins and the held-out flite and wesnoth tasks (`BENCH=transfer bench/run.sh`).
// Torch-free.
#include "cli_support.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

using namespace astpeft::test;

const QString kCli = QStringLiteral(ASTPEFT_CLI);
const QString kResources = QStringLiteral(ASTPEFT_FIXTURES "/../../resources");

// Few-shot: 4 training clips per class, 12 epochs of batch 8 (72 optimizer steps), a quarter
// of each class (8 clips) for validation: BENCH=transfer's demo rows, where the bundled
// backbone measured 0.943 (adapter) and 0.932 (LoRA) against 0.455 and 0.398 from random.
const QStringList kRecipe = { "--few-shot", "4", "--epochs", "12", "--batch-size", "8",
    "--val-fraction", "0.25", "--seed", "1", "--no-test", "--json" };

} // namespace

class TestTransfer : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QProcessEnvironment m_env;
    QString m_random;
    QString m_maxLength; // the bundled backbone's: clips are padded to it, as in pretraining

    CliResult run(const QStringList &args) const
    {
        return runIn(kCli, m_tmp.path(), args, m_env, 900000);
    }

    // The finished event's best validation accuracy of one training run.
    double bestAccuracy(const QString &model, const QString &method, const QString &out) const
    {
        const QStringList args = QStringList { "train", "--model", model, "--data",
            kResources + "/demo", "--method", method, "--cache-dir", m_tmp.filePath("cache"),
            "--max-length", m_maxLength, "--out", out }
            + kRecipe;
        const CliResult r = run(args);
        if (r.exitCode != 0) {
            qWarning("%s", qPrintable(describe(args, r)));
            return -1.0;
        }
        for (const QByteArray &line : r.out.split('\n')) {
            const QJsonObject j = QJsonDocument::fromJson(line).object();
            if (j.value("event").toString() == "finished")
                return j.value("best_val_accuracy").toDouble(-1.0);
        }
        return -1.0;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QVERIFY2(QFileInfo(kCli).isExecutable(), qPrintable(kCli));
        QVERIFY2(QFileInfo::exists(kResources + "/backbone/model.safetensors"),
            "resources/backbone is missing (tools/make_backbone.sh)");
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.insert("HOME", m_tmp.filePath("home"));
        m_random = m_tmp.filePath("random");
        // The random backbone takes the bundled one's shape from its config.json.
        QFile file(kResources + "/backbone/config.json");
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject c = QJsonDocument::fromJson(file.readAll()).object();
        const auto number = [&](const char *key) { return QString::number(c.value(key).toInt()); };
        m_maxLength = number("max_length");
        const QStringList args = { "init-model", "--preset", "small", "--hidden",
            number("hidden_size"), "--layers", number("num_hidden_layers"), "--heads",
            number("num_attention_heads"), "--ffn", number("intermediate_size"), "--max-length",
            m_maxLength, "--stride", number("frequency_stride") + "," + number("time_stride"),
            "--seed", "1", "--out", m_random };
        const CliResult r = run(args);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
    }

    // The random backbone is the bundled one's architecture: same tokens, same parameter count.
    void randomBaselineHasTheSameArchitecture()
    {
        const CliResult a = run({ "info", kResources + "/backbone", "--json" });
        const CliResult b = run({ "info", m_random, "--json" });
        QCOMPARE(a.exitCode, 0);
        QCOMPARE(b.exitCode, 0);
        const QJsonObject ja = QJsonDocument::fromJson(a.out).object();
        const QJsonObject jb = QJsonDocument::fromJson(b.out).object();
        QCOMPARE(ja.value("backbone_parameters").toInteger(),
            jb.value("backbone_parameters").toInteger());
        QCOMPARE(ja.value("config").toObject().value("tokens").toInt(),
            jb.value("config").toObject().value("tokens").toInt());
    }

    void pretrainedBeatsRandom_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addRow("adapter") << "adapter";
        QTest::addRow("lora") << "lora";
    }

    void pretrainedBeatsRandom()
    {
        QFETCH(QString, method);
        const double pretrained =
            bestAccuracy(kResources + "/backbone", method, m_tmp.filePath(method + "-bundled"));
        const double random = bestAccuracy(m_random, method, m_tmp.filePath(method + "-random"));
        qInfo("%s: bundled %.3f, random %.3f", qPrintable(method), pretrained, random);
        QVERIFY(pretrained >= 0.0 && random >= 0.0);
        QVERIFY2(pretrained >= 0.6, qPrintable(QString::number(pretrained)));
        QVERIFY2(pretrained >= random + 0.15,
            qPrintable(QString("bundled %1 vs random %2").arg(pretrained).arg(random)));
    }
};

QTEST_GUILESS_MAIN(TestTransfer)
#include "tst_transfer.moc"
