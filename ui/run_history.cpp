// SPDX-License-Identifier: MIT
#include "run_history.h"

#include "error.h"
#include "io/atomic_file.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>
#include <limits>

namespace astpeft::ui {

namespace {

// A number, or NaN for null/missing (the trainer writes a diverged loss as null).
double number(const QJsonObject &o, const char *key)
{
    const QJsonValue v = o.value(QLatin1String(key));
    return v.isDouble() ? v.toDouble() : std::numeric_limits<double>::quiet_NaN();
}

double numberOr0(const QJsonObject &o, const char *key)
{
    const double v = number(o, key);
    return std::isnan(v) ? 0.0 : v;
}

std::vector<std::string> stdLabels(const QStringList &labels)
{
    std::vector<std::string> out;
    for (const QString &l : labels)
        out.push_back(l.toStdString());
    return out;
}

// "per_class" (keyed by label) and "confusion" of an epoch or test object, in label order.
void readMetrics(const QJsonObject &o, const QStringList &labels, core::ClassificationMetrics &m)
{
    const QJsonObject perClass = o.value("per_class").toObject();
    QStringList order = labels;
    if (order.isEmpty()) // no import event: the keys, in the object's (sorted) order
        order = perClass.keys();
    for (const QString &label : order) {
        const QJsonObject c = perClass.value(label).toObject();
        core::ClassMetrics k;
        k.precision = numberOr0(c, "precision");
        k.recall = numberOr0(c, "recall");
        k.f1 = numberOr0(c, "f1");
        k.support = c.value("support").toInt();
        m.perClass.push_back(k);
    }
    for (const QJsonValue &row : o.value("confusion").toArray()) {
        std::vector<std::int64_t> counts;
        for (const QJsonValue &n : row.toArray())
            counts.push_back(n.toInteger());
        m.confusion.push_back(std::move(counts));
    }
    m.examples = 0;
    for (const core::ClassMetrics &k : m.perClass)
        m.examples += k.support;
}

core::StepEvent stepEvent(const QJsonObject &o)
{
    core::StepEvent e;
    e.epoch = o.value("epoch").toInt();
    e.step = o.value("step").toInteger();
    e.totalSteps = o.value("total_steps").toInteger();
    e.loss = number(o, "loss");
    e.learningRate = numberOr0(o, "learning_rate");
    e.samplesPerSecond = numberOr0(o, "samples_per_second");
    e.etaSeconds = numberOr0(o, "eta_seconds");
    return e;
}

core::EpochEvent epochEvent(const QJsonObject &o, const QStringList &labels)
{
    core::EpochEvent e;
    e.epoch = o.value("epoch").toInt();
    e.epochs = o.value("epochs").toInt();
    e.trainLoss = number(o, "train_loss");
    e.trainAccuracy = numberOr0(o, "train_accuracy");
    e.best = o.value("best").toBool();
    e.seconds = numberOr0(o, "seconds");
    e.etaSeconds = numberOr0(o, "eta_seconds");
    e.labels = stdLabels(labels);
    e.hasValidation = o.value("val_accuracy").isDouble();
    if (e.hasValidation) {
        e.valLoss = number(o, "val_loss");
        e.validation.accuracy = numberOr0(o, "val_accuracy");
        e.validation.balancedAccuracy = numberOr0(o, "val_balanced_accuracy");
        e.validation.macroF1 = numberOr0(o, "val_macro_f1");
        readMetrics(o, labels, e.validation);
    }
    return e;
}

core::FinishedEvent finishedEvent(const QJsonObject &o, const QStringList &labels)
{
    core::FinishedEvent e;
    e.reason = o.value("reason").toString().toStdString();
    e.epochsCompleted = o.value("epochs_completed").toInt();
    e.bestEpoch = o.value("best_epoch").toInt();
    e.bestValAccuracy = numberOr0(o, "best_val_accuracy");
    e.seconds = numberOr0(o, "seconds");
    e.trainableParameters = o.value("trainable_parameters").toInteger();
    e.method = o.value("method").toString().toStdString();
    e.runDir = o.value("run").toString().toStdString();
    e.labels = stdLabels(labels);
    e.hasTest = o.value("test_accuracy").isDouble();
    if (e.hasTest) {
        const QJsonObject test = o.value("test").toObject();
        e.testLoss = number(o, "test_loss");
        e.test.accuracy = numberOr0(o, "test_accuracy");
        e.test.balancedAccuracy = numberOr0(test, "balanced_accuracy");
        e.test.macroF1 = numberOr0(test, "macro_f1");
        readMetrics(test, labels, e.test);
    }
    return e;
}

} // namespace

double RunHistory::bestValAccuracy() const
{
    if (finished)
        return finished->bestValAccuracy;
    double best = 0.0;
    for (const core::EpochEvent &e : epochs)
        if (e.hasValidation)
            best = std::max(best, e.validation.accuracy);
    return best;
}

QString RunHistory::status() const
{
    if (finished)
        return QString::fromStdString(finished->reason);
    if (!failure.isEmpty())
        return QStringLiteral("failed: ") + failure;
    return QStringLiteral("not finished");
}

double RunHistory::seconds() const
{
    if (finished)
        return finished->seconds;
    double sum = 0.0;
    for (const core::EpochEvent &e : epochs)
        sum += e.seconds;
    return sum;
}

RunHistory readRunHistory(const QString &runDir)
{
    RunHistory h;
    h.dir = runDir;
    const QDir dir(runDir);
    const QString metricsFile = dir.filePath(QString::fromLatin1(core::RunFiles::metrics));
    const QString optionsFile = dir.filePath(QString::fromLatin1(core::RunFiles::options));
    if (!dir.exists()) {
        h.error = runDir + QStringLiteral(": no such run folder");
        return h;
    }

    QFile file(metricsFile);
    if (!file.open(QIODevice::ReadOnly)) {
        h.error = metricsFile + QStringLiteral(": cannot read the metrics log (")
            + file.errorString() + QStringLiteral(")");
        return h;
    }
    const QList<QByteArray> lines = file.readAll().split('\n');
    bool imported = false;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        if (line.isEmpty())
            continue;
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &parseError);
        if (!doc.isObject()) {
            // The last piece of split() is non-empty only when the file does not end with a
            // newline: a line cut short by a crash. Everything before it is good.
            if (i == lines.size() - 1)
                break;
            h.error = QStringLiteral("%1: line %2 is not a JSON object (%3)")
                          .arg(metricsFile)
                          .arg(i + 1)
                          .arg(parseError.errorString());
            return h;
        }
        const QJsonObject o = doc.object();
        const QString event = o.value("event").toString();
        if (event == "import") {
            imported = true;
            h.labels.clear();
            for (const QJsonValue &c : o.value("classes").toArray())
                h.labels << c.toString();
            h.method = o.value("method").toString();
            h.trainableParameters = o.value("parameters").toObject().value("trainable").toInteger();
        } else if (event == "step") {
            h.steps.push_back(stepEvent(o));
        } else if (event == "epoch") {
            h.epochs.push_back(epochEvent(o, h.labels));
            h.plannedEpochs = std::max(h.plannedEpochs, h.epochs.back().epochs);
        } else if (event == "finished") {
            h.finished = finishedEvent(o, h.labels);
            if (h.method.isEmpty())
                h.method = QString::fromStdString(h.finished->method);
            if (h.finished->trainableParameters > 0)
                h.trainableParameters = h.finished->trainableParameters;
        } else if (event == "failed") {
            h.failure = o.value("message").toString();
        }
    }
    if (!imported) {
        h.error = metricsFile + QStringLiteral(": no import event; not a training run's log");
        return h;
    }

    // options.json: the planned epochs (absent in a folder copied without it).
    if (QFile::exists(optionsFile)) {
        try {
            const core::TrainOptions options = core::parseTrainOptions(
                core::readTextFile(optionsFile.toStdString()), optionsFile.toStdString());
            h.plannedEpochs = options.epochs;
            if (h.method.isEmpty())
                h.method = QString::fromStdString(core::methodName(options.peft.method));
        } catch (const std::exception &e) {
            h.error = QString::fromStdString(e.what());
        }
    }
    return h;
}

} // namespace astpeft::ui
