// SPDX-License-Identifier: MIT
#include "recorder_panel.h"

#include "audio/audio_device.h"
#include "audio/audio_file.h"
#include "audio/take_splitter.h"
#include "audio_inputs.h"
#include "level_meter.h"
#include "project/project.h"
#include "project_model.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>

#include <filesystem>
#include <limits>

namespace astpeft::ui {

namespace {
constexpr int kRate = 16000;
const QRegularExpression kBackgroundName(QStringLiteral("background|noise|silence|other|unknown"),
    QRegularExpression::CaseInsensitiveOption);
} // namespace

RecorderPanel::RecorderPanel(ProjectModel *project, QWidget *parent)
    : QWidget(parent)
    , m_project(project)
{
    m_devices = new QComboBox;
    m_devices->setAccessibleName(tr("Microphone"));
    m_devices->setToolTip(tr("The input device (remembered)"));
    auto *refresh = new QPushButton(tr("Refresh"));
    refresh->setAccessibleName(tr("Refresh microphones"));
    refresh->setToolTip(tr("List the input devices again (after plugging one in)"));
    m_class = new QComboBox;
    m_class->setEditable(true);
    m_class->setAccessibleName(tr("Record into class"));
    m_class->setToolTip(tr("The class the new clips belong to (type a new name to add one)"));
    m_cut = new QComboBox;
    m_cut->addItem(tr("One clip per sound"), int(Cut::Sounds));
    m_cut->addItem(tr("Fixed 1 s clips"), int(Cut::Fixed));
    m_cut->addItem(tr("The whole take"), int(Cut::Whole));
    m_cut->setAccessibleName(tr("Cut the take into"));
    m_cut->setToolTip(tr("How a take becomes clips: each sound found in it (say the word several "
                         "times with pauses), consecutive 1 s pieces, or one clip"));
    m_countdown = new QSpinBox;
    m_countdown->setRange(0, 10);
    m_countdown->setValue(3);
    m_countdown->setSuffix(tr(" s"));
    m_countdown->setAccessibleName(tr("Countdown"));
    m_countdown->setToolTip(tr("Seconds before the take starts"));
    m_takeSeconds = new QSpinBox;
    m_takeSeconds->setRange(0, 600);
    m_takeSeconds->setValue(10);
    m_takeSeconds->setSuffix(tr(" s"));
    m_takeSeconds->setSpecialValueText(tr("until Stop"));
    m_takeSeconds->setAccessibleName(tr("Take length"));
    m_takeSeconds->setToolTip(tr("The take stops by itself after this long"));
    m_record = new QPushButton(tr("Record"));
    m_record->setAccessibleName(tr("Record or stop"));
    m_record->setToolTip(tr("Start a take (after the countdown) or stop it (R)"));
    m_record->setShortcut(QKeySequence(Qt::Key_R));
    m_meter = new LevelMeter;
    m_status = new QLabel;
    m_status->setWordWrap(true);
    m_status->setAccessibleName(tr("Recorder status"));
    m_tip = new QLabel(tr("Tip: record 20-30 s of the room's background noise as its own class, "
                          "so that the model learns what to ignore."));
    m_tip->setWordWrap(true);
    m_background = new QPushButton(tr("Record background..."));
    m_background->setAccessibleName(tr("Record background"));
    m_background->setToolTip(tr("A 30 s take into the class \"background\", cut into 1 s clips"));

    auto *deviceRow = new QHBoxLayout;
    deviceRow->addWidget(m_devices, 1);
    deviceRow->addWidget(refresh);
    auto *form = new QFormLayout;
    form->addRow(tr("Microphone"), deviceRow);
    form->addRow(tr("Class"), m_class);
    form->addRow(tr("Cut into"), m_cut);
    form->addRow(tr("Countdown"), m_countdown);
    form->addRow(tr("Take"), m_takeSeconds);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 6, 0, 0);
    layout->addWidget(new QLabel(tr("<b>Record</b>")));
    layout->addLayout(form);
    auto *row = new QHBoxLayout;
    row->addWidget(m_record);
    row->addWidget(m_meter, 1);
    layout->addLayout(row);
    layout->addWidget(m_status);
    layout->addWidget(m_tip);
    layout->addWidget(m_background, 0, Qt::AlignLeft);

    m_poll = new QTimer(this);
    m_poll->setInterval(30);
    connect(m_poll, &QTimer::timeout, this, [this] { poll(); });
    m_tick = new QTimer(this);
    m_tick->setInterval(1000);
    connect(m_tick, &QTimer::timeout, this, [this] {
        if (--m_countLeft > 0) {
            m_status->setText(tr("Recording in %1...").arg(m_countLeft));
            return;
        }
        m_tick->stop();
        startCapture();
    });
    connect(refresh, &QPushButton::clicked, this, &RecorderPanel::refreshDevices);
    connect(m_record, &QPushButton::clicked, this,
        [this] { isRecording() || isCountingDown() ? stop() : record(); });
    connect(m_background, &QPushButton::clicked, this, &RecorderPanel::recordBackground);
    connect(m_devices, &QComboBox::currentIndexChanged, this,
        [this] { rememberAudioInput(m_devices); });
    connect(m_project, &ProjectModel::classesChanged, this, &RecorderPanel::updateHints);
    connect(m_project, &ProjectModel::opened, this, &RecorderPanel::updateHints);
    refreshDevices();
    updateHints();
}

RecorderPanel::~RecorderPanel()
{
    if (m_capture)
        m_capture->stop();
}

bool RecorderPanel::isCountingDown() const
{
    return m_tick->isActive();
}

QString RecorderPanel::device() const
{
    return m_devices->currentData().toString();
}

QString RecorderPanel::targetClass() const
{
    return m_class->currentText().trimmed();
}

void RecorderPanel::setTargetClass(const QString &label)
{
    m_class->setCurrentText(label);
}

void RecorderPanel::setCountdownSeconds(int seconds)
{
    m_countdown->setValue(seconds);
}

void RecorderPanel::setTakeSeconds(int seconds)
{
    m_takeSeconds->setValue(seconds);
}

void RecorderPanel::setCut(Cut cut)
{
    m_cut->setCurrentIndex(m_cut->findData(int(cut)));
}

QString RecorderPanel::status() const
{
    return m_status->text();
}

bool RecorderPanel::suggestsBackground() const
{
    return !m_tip->isHidden();
}

void RecorderPanel::refreshDevices()
{
    const QString error = fillAudioInputs(m_devices);
    if (!error.isEmpty())
        m_status->setText(tr("No audio input: %1").arg(error));
}

void RecorderPanel::updateHints()
{
    const QString current = m_class->currentText();
    m_class->clear();
    bool hasBackground = false;
    if (m_project->isOpen()) {
        for (const std::string &c : m_project->project().classes) {
            const QString label = QString::fromStdString(c);
            m_class->addItem(label);
            hasBackground |= kBackgroundName.match(label).hasMatch();
        }
    }
    m_class->setCurrentText(current);
    m_tip->setHidden(hasBackground);
    m_background->setHidden(hasBackground);
}

void RecorderPanel::recordBackground()
{
    setTargetClass(QStringLiteral("background"));
    setCut(Cut::Fixed);
    setTakeSeconds(30);
    m_status->setText(tr("Stay quiet and let the room sound for 30 s."));
}

void RecorderPanel::record()
{
    if (isRecording() || isCountingDown())
        return;
    if (targetClass().isEmpty()) {
        m_status->setText(tr("Choose or type the class to record into."));
        return;
    }
    if (!m_project->isOpen()) {
        m_status->setText(tr("Open or create a project first."));
        return;
    }
    m_record->setText(tr("Stop"));
    m_countLeft = m_countdown->value();
    if (m_countLeft <= 0) {
        startCapture();
        return;
    }
    m_status->setText(tr("Recording in %1...").arg(m_countLeft));
    m_tick->start();
}

void RecorderPanel::startCapture()
{
    m_take.clear();
    m_quietSeconds = 0;
    m_meter->reset();
    try {
        m_capture = std::make_unique<core::AudioCapture>(core::CaptureOptions {
            .device = device().toStdString(), .sampleRate = kRate, .bufferSeconds = 10 });
        m_capture->start();
    } catch (const std::exception &e) {
        m_capture.reset();
        m_record->setText(tr("Record"));
        const QString message = QString::fromStdString(e.what());
        m_status->setText(tr("Cannot record: %1").arg(message));
        Q_EMIT failed(message);
        return;
    }
    m_status->setText(tr("Recording \"%1\" from %2...")
                          .arg(targetClass(), QString::fromStdString(m_capture->device().name)));
    m_poll->start();
}

void RecorderPanel::poll(bool draining)
{
    if (!m_capture)
        return;
    std::vector<float> block(4096);
    std::vector<float> fresh;
    for (std::size_t n; (n = m_capture->read(block)) > 0;)
        fresh.insert(fresh.end(), block.begin(), block.begin() + std::ptrdiff_t(n));
    // A take never grows past its length: what the device delivered beyond it is dropped.
    const std::size_t limit = m_takeSeconds->value() > 0
        ? std::size_t(m_takeSeconds->value()) * kRate
        : std::numeric_limits<std::size_t>::max();
    if (m_take.size() + fresh.size() > limit)
        fresh.resize(limit > m_take.size() ? limit - m_take.size() : 0);
    if (!fresh.empty()) {
        const core::Level level = core::measureLevel(fresh);
        m_meter->setLevel(level);
        m_take.insert(m_take.end(), fresh.begin(), fresh.end());
        m_quietSeconds = level.peakDb < -50 ? m_quietSeconds + double(fresh.size()) / kRate : 0;
        QString note = tr("Recording \"%1\": %2 s")
                           .arg(targetClass())
                           .arg(double(m_take.size()) / kRate, 0, 'f', 1);
        if (m_meter->clipping()) {
            note += tr(" - clipping: move away from the microphone or lower its gain");
        } else if (m_quietSeconds > 2) {
            note += tr(" - very quiet: is the right microphone selected?");
        }
        m_status->setText(note);
    }
    const bool full = m_take.size() >= limit;
    if (!draining && (m_capture->failed() || full))
        stop();
}

void RecorderPanel::stop()
{
    if (isCountingDown()) {
        m_tick->stop();
        m_record->setText(tr("Record"));
        m_status->setText(tr("Cancelled."));
        return;
    }
    if (!m_capture)
        return;
    m_poll->stop();
    m_capture->stop();
    poll(true); // what arrived since the last poll, up to the take's length
    const bool failedNow = m_capture->failed();
    const QString error = QString::fromStdString(m_capture->error());
    const std::uint64_t overflows = m_capture->overflows();
    m_capture.reset();
    m_record->setText(tr("Record"));
    if (failedNow)
        Q_EMIT failed(error);
    finishTake(); // what was captured before a failure is kept
    if (failedNow)
        m_status->setText(tr("The microphone stopped: %1. %2").arg(error, m_status->text()));
    if (overflows > 0) {
        m_status->setText(m_status->text()
            + tr(" (%1 samples were lost: the input came faster than it was read)").arg(overflows));
    }
}

void RecorderPanel::finishTake()
{
    const QString label = targetClass();
    std::vector<core::TakeSegment> segments;
    const Cut cut = Cut(m_cut->currentData().toInt());
    if (cut == Cut::Whole) {
        if (!m_take.empty())
            segments.push_back({ 0, m_take.size() });
    } else {
        segments = core::splitTake(m_take, kRate,
            { .mode = cut == Cut::Fixed ? core::SplitMode::Fixed : core::SplitMode::Sounds });
    }
    int written = 0;
    try {
        for (const core::TakeSegment &s : segments) {
            auto path = core::newRecordingPath(m_project->project(), label.toStdString());
            if (path.is_relative())
                path = m_project->project().dir / path;
            std::filesystem::create_directories(path.parent_path());
            core::writeAudio(
                path, std::span<const float>(m_take.data() + s.begin, s.end - s.begin), kRate, 1);
            m_project->addRecording(QString::fromStdString(path.string()), label);
            ++written;
        }
    } catch (const std::exception &e) {
        m_status->setText(tr("Could not save the clip: %1").arg(QString::fromStdString(e.what())));
        Q_EMIT failed(m_status->text());
    }
    if (written > 0 || segments.empty()) {
        m_status->setText(segments.empty()
                ? tr("Nothing but silence in the take (%1 s).")
                      .arg(double(m_take.size()) / kRate, 0, 'f', 1)
                : (written == 1 ? tr("1 clip of \"%1\" saved.").arg(label)
                                : tr("%1 clips of \"%2\" saved.").arg(written).arg(label)));
    }
    m_take.clear();
    Q_EMIT takeFinished(written, label);
}

} // namespace astpeft::ui
