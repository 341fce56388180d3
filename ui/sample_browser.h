// SPDX-License-Identifier: MIT
// One clip of the project up close: its waveform and its log-mel spectrogram (the 128-bin
// Kaldi fbank the model sees, before normalisation), with zoom and pan on the time axis (the
// two plots move together), playback through PortAudio at 0.25-2x with a moving playhead, and a
// non-destructive trim: drag on the waveform (or type start and end) and apply; the clip's file
// is never changed, and Edit > Undo takes a trim back.
#pragma once

#include <QWidget>

#include <memory>
#include <vector>

class QCPColorMap;
class QCPItemRect;
class QCPItemStraightLine;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QTimer;

namespace astpeft::core {
class AudioPlayer;
}

namespace astpeft::ui {

class ProjectModel;

class SampleBrowser : public QWidget
{
    Q_OBJECT

public:
    explicit SampleBrowser(ProjectModel *project, QWidget *parent = nullptr);
    ~SampleBrowser() override; // stops playback

    quint64 clipId() const { return m_clip; }
    double selectionStart() const;
    double selectionEnd() const;
    double duration() const; // seconds of the decoded clip
    // For tests: what the plots hold.
    int waveformPoints() const;
    int spectrogramFrames() const;
    int spectrogramBins() const;
    QString message() const; // the status line (errors, the clip's description)
    bool isPlaying() const;
    double playheadSeconds() const;

public Q_SLOTS:
    void showClip(quint64 id); // 0 clears
    void setSelection(double start, double end); // seconds; end 0 = to the end
    void applyTrim();
    void resetTrim();
    void play(); // the selection, at the chosen speed; stops a playback in progress
    void stop();

Q_SIGNALS:
    void playbackFailed(const QString &message);

protected:
    void changeEvent(QEvent *event) override; // restyles the plots for the theme

private:
    void updateSelectionItems();
    void updatePlayhead();

    ProjectModel *m_project; // owned by the main window
    quint64 m_clip = 0;
    std::vector<float> m_samples; // 16 kHz mono, the whole file
    QCustomPlot *m_wave = nullptr, *m_spec = nullptr;
    QCPColorMap *m_map = nullptr; // owned by m_spec
    QCPItemRect *m_selectionRect = nullptr; // owned by m_wave
    QCPItemStraightLine *m_playheadWave = nullptr, *m_playheadSpec = nullptr;
    QDoubleSpinBox *m_start = nullptr, *m_end = nullptr;
    QComboBox *m_speed = nullptr;
    QPushButton *m_play = nullptr, *m_apply = nullptr, *m_reset = nullptr;
    QLabel *m_message = nullptr;
    QTimer *m_playTimer = nullptr;
    std::unique_ptr<core::AudioPlayer> m_player; // created on first play
    double m_playOffset = 0.0; // seconds of the file where the playing buffer starts
    double m_dragStart = -1.0;
    int m_frames = 0, m_bins = 0;
};

} // namespace astpeft::ui
