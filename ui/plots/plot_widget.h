// SPDX-License-Identifier: MIT
// The base of the plots in ui/plots/: a QWidget around one QCustomPlot, with export and
// coalesced replots. QCustomPlot firewall: only ui/plots/*.cpp include qcustomplot.h (its
// `signals:` and `foreach` break under QT_NO_KEYWORDS); the headers forward-declare it. GUI
// thread only.
#pragma once

#include <QString>
#include <QWidget>

class QCPTextElement;
class QCustomPlot;
class QTimer;

namespace astpeft::ui {

// A QCustomPlot with export (PNG, PDF, SVG; right-click menu or exportTo()) and coalesced
// replots: callers append data and call requestReplot(), which replots at most every 40 ms with
// rpQueuedReplot, so a flood of step events cannot stall the GUI thread.
class PlotWidget : public QWidget
{
    Q_OBJECT

public:
    explicit PlotWidget(const QString &title, QWidget *parent = nullptr);

    QString title() const { return m_title; }
    void setTitle(const QString &title); // shown above the plot (and in exports)
    QCustomPlot *customPlot() const { return m_plot; }
    // The same widget, for code that must not include qcustomplot.h (tests send it mouse events).
    QWidget *canvas() const;

    // Writes the plot at its on-screen size (800x500 when smaller than 400x300, e.g. hidden):
    // .png (2x pixel ratio), .pdf or .svg (vector), chosen by the suffix. Replaces the file
    // atomically. Returns false and sets *error ("FILE: reason") on failure.
    bool exportTo(const QString &file, QString *error = nullptr);
    // Asks for a file name (suffix preselected: "png", "pdf" or "svg"), then exportTo(); the
    // outcome comes as exported() or exportFailed().
    void exportInteractively(const QString &suffix);

public Q_SLOTS:
    virtual void resetView(); // rescales to the data

Q_SIGNALS:
    void exported(const QString &file);
    void exportFailed(const QString &message);

protected:
    void changeEvent(QEvent *event) override; // restyles on palette changes (theme switch)
    void requestReplot();
    // Runs right before each coalesced replot (rescaling, for instance).
    virtual void prepareReplot() { }

    QCustomPlot *m_plot; // child widget

private:
    void replotNow();

    QString m_title;
    QCPTextElement *m_titleElement; // owned by m_plot's layout
    QTimer *m_replotTimer;
};

} // namespace astpeft::ui
