// SPDX-License-Identifier: MIT
// Imports dropped or chosen paths off the GUI thread through core::importPaths (dataset folders
// and manifests with their layout detected unless given, loose audio files, merged into one
// core::Dataset). Lives in a worker QThread (moveToThread); results cross back as values in
// queued signals.
#pragma once

#include "data/dataset.h"

#include <QObject>
#include <QStringList>

namespace astpeft::ui {

class ImportWorker : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

public Q_SLOTS:
    // Runs on the worker thread; emits exactly one of imported() or failed(). `layout` applies
    // to folders and manifests (Auto detects each); `label` names the class of loose audio
    // files (empty: each file's folder name). One path that cannot be imported fails the whole
    // drop, with the path and the reason in the message.
    void import(
        const QStringList &paths, astpeft::core::DatasetLayout layout, const QString &label);

Q_SIGNALS:
    void imported(const astpeft::core::Dataset &dataset, const QString &description);
    void failed(const QString &message);
};

} // namespace astpeft::ui
