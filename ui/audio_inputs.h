// SPDX-License-Identifier: MIT
// The microphone choice shared by the recorder and the Live view: "Default input" plus every
// PortAudio device with input channels (item data: the device name, "" for the default), with
// the choice remembered in QSettings "audio/input".
#pragma once

#include <QString>

class QComboBox;

namespace astpeft::ui {

// Refills `combo` and selects the remembered device (else the default). Returns "" or, when
// PortAudio cannot list devices, the reason (the combo then holds only the default).
QString fillAudioInputs(QComboBox *combo);
// Remembers the combo's current device.
void rememberAudioInput(const QComboBox *combo);

} // namespace astpeft::ui
