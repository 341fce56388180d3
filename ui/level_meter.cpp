// SPDX-License-Identifier: MIT
#include "level_meter.h"

#include <QPainter>

#include <algorithm>

namespace astpeft::ui {

namespace {
constexpr double kFloorDb = -60.0;
double fraction(double db)
{
    return std::clamp((db - kFloorDb) / -kFloorDb, 0.0, 1.0);
}
} // namespace

LevelMeter::LevelMeter(QWidget *parent)
    : QWidget(parent)
{
    setAccessibleName(tr("Input level"));
    setToolTip(tr("Input level: bar = loudness (RMS), line = peak; red when the input clips"));
    setMinimumHeight(14);
}

void LevelMeter::setLevel(const core::Level &level)
{
    m_level = level;
    m_peakHold = std::max(m_peakHold, level.peakDb);
    if (level.clipped) {
        m_sinceClip.start();
        m_everClipped = true;
    }
    setAccessibleDescription(tr("peak %1 dBFS, RMS %2 dBFS%3")
                                 .arg(level.peakDb, 0, 'f', 1)
                                 .arg(level.rmsDb, 0, 'f', 1)
                                 .arg(clipping() ? tr(", clipping") : QString()));
    update();
}

void LevelMeter::reset()
{
    m_level = {};
    m_peakHold = -120.0;
    m_everClipped = false;
    update();
}

bool LevelMeter::clipping() const
{
    return m_everClipped && m_sinceClip.isValid() && m_sinceClip.elapsed() < 1000;
}

void LevelMeter::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    const QRect r = rect().adjusted(0, 0, -1, -1);
    p.fillRect(r, palette().color(QPalette::Base));
    const int width = int(r.width() * fraction(m_level.rmsDb));
    const QColor fill = clipping() ? QColor(0xd9, 0x3b, 0x3b)
        : m_level.peakDb > -6      ? QColor(0xe0, 0xa0, 0x20)
                                   : QColor(0x3c, 0xb3, 0x71);
    p.fillRect(QRect(r.left(), r.top(), width, r.height()), fill);
    const int peak = r.left() + int(r.width() * fraction(m_level.peakDb));
    p.setPen(QPen(palette().color(QPalette::Text), 2));
    p.drawLine(peak, r.top(), peak, r.bottom());
    const int hold = r.left() + int(r.width() * fraction(m_peakHold));
    p.setPen(QPen(palette().color(QPalette::Text), 1, Qt::DotLine));
    p.drawLine(hold, r.top(), hold, r.bottom());
    // Ticks every 10 dB.
    p.setPen(QPen(palette().color(QPalette::Mid), 1));
    for (int db = -50; db < 0; db += 10) {
        const int x = r.left() + int(r.width() * fraction(db));
        p.drawLine(x, r.bottom() - 3, x, r.bottom());
    }
    p.drawRect(r);
}

} // namespace astpeft::ui
