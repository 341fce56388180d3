// SPDX-License-Identifier: MIT
// A horizontal input level meter: RMS as a bar and the peak as a line, on a -60..0 dBFS
// scale, red while the input clips (held for a second so that a short clip is seen), with the
// level as text for screen readers.
#pragma once

#include "audio/take_splitter.h"

#include <QElapsedTimer>
#include <QWidget>

namespace astpeft::ui {

class LevelMeter : public QWidget
{
    Q_OBJECT

public:
    explicit LevelMeter(QWidget *parent = nullptr);
    void setLevel(const core::Level &level);
    void reset();
    core::Level level() const { return m_level; }
    bool clipping() const; // clipped within the last second
    double peakHoldDb() const { return m_peakHold; } // the loudest peak since reset()
    QSize sizeHint() const override { return { 240, 18 }; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    core::Level m_level;
    QElapsedTimer m_sinceClip;
    bool m_everClipped = false;
    double m_peakHold = -120.0;
};

} // namespace astpeft::ui
