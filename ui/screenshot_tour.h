// SPDX-License-Identifier: MIT
// Drives the studio through every view for tools/screenshots.sh and writes a PNG per view:
// imports a dataset (the import summary is shot, then confirmed), waits for the backbone, shows
// the data and method views, trains a short run, shows the training view (light and dark) and
// the runs view, then emits done(). Everything is driven by the window's own signals, so the
// pictures show what a user would see at each point.
#pragma once

#include <QObject>
#include <QString>

namespace astpeft::ui {

class MainWindow;

class ScreenshotTour : public QObject
{
    Q_OBJECT

public:
    // `data`: a dataset folder to import first (empty: use the project's clips).
    ScreenshotTour(MainWindow *window, const QString &outDir, const QString &data, int epochs,
        QObject *parent = nullptr);
    void start();

Q_SIGNALS:
    void done(int exitCode); // 0 when every picture was written

private:
    void shoot(QWidget *widget, const QString &name);
    void afterImport();
    void afterModel();
    void afterTraining();
    void fail(const QString &why);

    MainWindow *m_window;
    QString m_outDir, m_data;
    int m_epochs;
    int m_written = 0;
};

} // namespace astpeft::ui
