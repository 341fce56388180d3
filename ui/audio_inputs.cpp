// SPDX-License-Identifier: MIT
#include "audio_inputs.h"

#include "audio/audio_device.h"

#include <QComboBox>
#include <QSettings>
#include <QSignalBlocker>

namespace astpeft::ui {

QString fillAudioInputs(QComboBox *combo)
{
    const QString remembered = QSettings().value("audio/input").toString();
    const QSignalBlocker block(combo);
    combo->clear();
    combo->addItem(QObject::tr("Default input"), QString());
    QString error;
    try {
        for (const core::AudioDeviceInfo &d : core::listAudioDevices()) {
            if (d.maxInputChannels > 0) {
                const QString name = QString::fromStdString(d.name);
                combo->addItem(
                    QStringLiteral("%1 (%2)").arg(name, QString::fromStdString(d.hostApi)), name);
            }
        }
    } catch (const std::exception &e) {
        error = QString::fromStdString(e.what());
    }
    const int i = combo->findData(remembered);
    combo->setCurrentIndex(i >= 0 ? i : 0);
    return error;
}

void rememberAudioInput(const QComboBox *combo)
{
    if (combo->currentIndex() >= 0)
        QSettings().setValue("audio/input", combo->currentData().toString());
}

} // namespace astpeft::ui
