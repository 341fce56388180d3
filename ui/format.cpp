// SPDX-License-Identifier: MIT
#include "format.h"

#include <QObject>

#include <algorithm>
#include <cmath>

namespace astpeft::ui {

QString formatDuration(double seconds)
{
    const qint64 s = qint64(std::llround(std::max(0.0, seconds)));
    if (s < 60)
        return QObject::tr("%1 s").arg(s);
    if (s < 3600)
        return QObject::tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QObject::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

QString formatClipDuration(double seconds)
{
    if (seconds < 59.95)
        return QObject::tr("%1 s").arg(std::max(0.0, seconds), 0, 'f', seconds < 10 ? 2 : 1);
    return formatDuration(seconds);
}

} // namespace astpeft::ui
