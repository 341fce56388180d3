// SPDX-License-Identifier: MIT
// Loads a model folder off the GUI thread. Lives in a worker QThread (moveToThread); results
// cross back as value types in queued signals.
#pragma once

#include "inference/classifier.h"

#include <QObject>
#include <QString>

namespace astpeft::ui {

class ModelLoader : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

public Q_SLOTS:
    // Runs on the worker thread; emits exactly one of loaded() or failed().
    void load(const QString &path);

Q_SIGNALS:
    void loaded(const QString &path, const astpeft::core::ModelSummary &summary);
    void failed(const QString &path, const QString &message);
};

} // namespace astpeft::ui
