// SPDX-License-Identifier: MIT
// Recording clips per class from a microphone: device picker (remembered), level meter with
// clipping and too-quiet warnings, a countdown, and one take per press that is cut into clips
// (one per sound, or fixed pieces) written to the project's recordings/ folder. Suggests a
// background-noise class when the project has none. Capture runs in PortAudio's thread into a
// ring buffer; this panel drains it on the GUI thread every 30 ms (cheap: a copy and a level).
#pragma once

#include <QWidget>

#include <memory>
#include <vector>

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTimer;

namespace astpeft::core {
class AudioCapture;
}

namespace astpeft::ui {

class LevelMeter;
class ProjectModel;

class RecorderPanel : public QWidget
{
    Q_OBJECT

public:
    explicit RecorderPanel(ProjectModel *project, QWidget *parent = nullptr);
    ~RecorderPanel() override; // stops a take in progress (its audio is discarded)

    bool isRecording() const { return m_capture != nullptr; }
    bool isCountingDown() const;
    QString device() const; // the chosen input's name ("" = default)
    QString targetClass() const;
    void setTargetClass(const QString &label);
    void setCountdownSeconds(int seconds);
    void setTakeSeconds(int seconds); // the take stops by itself after this long (0: at Stop)
    enum class Cut { Sounds, Fixed, Whole };
    void setCut(Cut cut);
    LevelMeter *meter() const { return m_meter; }
    QString status() const;
    bool suggestsBackground() const; // the background-noise tip is shown

public Q_SLOTS:
    void refreshDevices();
    void record(); // countdown, then capture
    void stop(); // ends the take and writes its clips
    void recordBackground(); // selects a "background" class, fixed 1 s pieces of a 30 s take

Q_SIGNALS:
    void takeFinished(int clipsWritten, const QString &label);
    void failed(const QString &message);

private:
    void startCapture();
    void poll(bool draining = false); // draining: from stop(), never stops again
    void finishTake();
    void updateHints();

    ProjectModel *m_project; // owned by the main window
    QComboBox *m_devices = nullptr, *m_class = nullptr, *m_cut = nullptr;
    QSpinBox *m_countdown = nullptr, *m_takeSeconds = nullptr;
    QPushButton *m_record = nullptr, *m_background = nullptr;
    LevelMeter *m_meter = nullptr;
    QLabel *m_status = nullptr, *m_tip = nullptr;
    QTimer *m_poll = nullptr, *m_tick = nullptr;
    int m_countLeft = 0;
    std::unique_ptr<core::AudioCapture> m_capture; // non-null while a take runs
    std::vector<float> m_take; // 16 kHz mono
    double m_quietSeconds = 0.0;
};

} // namespace astpeft::ui
