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

QString formatPercent(double fraction)
{
    return QString::number(fraction * 100.0, 'f', 1) + QStringLiteral("%");
}

QString qs(const std::string &text)
{
    return QString::fromStdString(text);
}

QString qs(const char *text)
{
    return QString::fromUtf8(text);
}

QString qs(const std::filesystem::path &path)
{
    return QString::fromStdString(path.string());
}

QStringList qsList(const std::vector<std::string> &texts)
{
    QStringList out;
    out.reserve(qsizetype(texts.size()));
    for (const std::string &t : texts)
        out << QString::fromStdString(t);
    return out;
}

} // namespace astpeft::ui
