// SPDX-License-Identifier: MIT
#include "download_dialog.h"

#include "format.h"
#include "net/hub_download.h"
#include "workers/download_worker.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include <exception>

namespace astpeft::ui {

namespace {
QString megabytes(qint64 bytes)
{
    return QString::number(double(bytes) / 1e6, 'f', 1);
}
} // namespace

DownloadDialog::DownloadDialog(const QString &model, QWidget *parent)
    : QDialog(parent)
{
    const auto known = core::knownModel(model.toStdString());
    setWindowTitle(tr("Get a checkpoint"));
    QString description;
    QString defaultDir;
    if (known) {
        m_repo = QString::fromStdString(known->repo);
        m_revision = QString::fromStdString(known->revision);
        for (const std::string &f : known->files)
            m_files << QString::fromStdString(f);
        description = QString::fromStdString(known->description);
        setWindowTitle(tr("Get %1").arg(model));
    }
    try {
        defaultDir = QString::fromStdString(core::defaultModelDir(model.toStdString()).string());
    } catch (const std::exception &) { // no HOME: the user picks a folder
    }
    QString server;
    try {
        server = QString::fromStdString(core::resolveHubEndpoint());
    } catch (const std::exception &) { // a malformed HF_ENDPOINT: shown when Get is pressed
    }

    auto *intro = new QLabel(tr("<b>%1</b><br>%2<br>Files: %3")
                                 .arg(m_repo.toHtmlEscaped(), description.toHtmlEscaped(),
                                     m_files.join(", ").toHtmlEscaped()));
    intro->setWordWrap(true);
    intro->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_dest = new QLineEdit(defaultDir);
    m_dest->setAccessibleName(tr("Destination folder"));
    m_browse = new QPushButton(tr("Choose..."));
    connect(m_browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(
            this, tr("Destination folder"), QFileInfo(m_dest->text()).absolutePath());
        if (!dir.isEmpty())
            m_dest->setText(QDir(dir).filePath(QFileInfo(m_dest->text()).fileName()));
    });
    auto *destRow = new QHBoxLayout;
    destRow->addWidget(m_dest, 1);
    destRow->addWidget(m_browse);
    m_endpoint = new QLineEdit(server);
    m_endpoint->setAccessibleName(tr("Server"));
    m_endpoint->setToolTip(tr("The Hugging Face Hub, or a mirror of it (as HF_ENDPOINT sets)"));
    auto *form = new QFormLayout;
    form->addRow(tr("Folder:"), destRow);
    form->addRow(tr("Server:"), m_endpoint);

    m_bar = new QProgressBar;
    m_bar->setRange(0, 1000);
    m_bar->setValue(0);
    m_bar->setTextVisible(false);
    m_bar->setAccessibleName(tr("Download progress"));
    m_status = new QLabel(tr("Ready. A partial download in the folder is resumed."));
    m_status->setWordWrap(true);
    m_error = new QLabel;
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(QStringLiteral("color: #c62828"));
    m_error->hide();

    m_get = new QPushButton(tr("&Get"));
    m_get->setDefault(true);
    m_cancel = new QPushButton(tr("Close"));
    m_use = new QPushButton(tr("&Use as backbone"));
    m_use->setToolTip(tr("Open the downloaded folder as the backbone of the project"));
    m_use->hide();
    connect(m_get, &QPushButton::clicked, this, &DownloadDialog::start);
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (m_running) {
            cancel();
        } else {
            reject();
        }
    });
    connect(m_use, &QPushButton::clicked, this, [this] {
        Q_EMIT useAsBackbone(destination());
        accept();
    });
    auto *buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(m_use);
    buttons->addWidget(m_get);
    buttons->addWidget(m_cancel);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(form);
    layout->addWidget(m_bar);
    layout->addWidget(m_status);
    layout->addWidget(m_error);
    layout->addStretch(1);
    layout->addLayout(buttons);
    resize(560, sizeHint().height());

    connect(this, &DownloadDialog::downloadRequested, m_worker.get(), &DownloadWorker::download);
    connect(m_worker.get(), &DownloadWorker::progress, this, &DownloadDialog::onProgress);
    connect(m_worker.get(), &DownloadWorker::finished, this, &DownloadDialog::onFinished);
    connect(m_worker.get(), &DownloadWorker::cancelled, this, &DownloadDialog::onCancelled);
    connect(m_worker.get(), &DownloadWorker::failed, this, &DownloadDialog::onFailed);
    m_worker.start();
    if (!known)
        onFailed(tr("Unknown model %1").arg(model));
}

DownloadDialog::~DownloadDialog()
{
    m_worker->requestStop(); // the download returns within about a second
}

QString DownloadDialog::destination() const
{
    return m_dest->text().trimmed();
}

void DownloadDialog::setDestination(const QString &dir)
{
    m_dest->setText(dir);
}

QString DownloadDialog::endpoint() const
{
    return m_endpoint->text().trimmed();
}

void DownloadDialog::setEndpoint(const QString &url)
{
    m_endpoint->setText(url);
}

int DownloadDialog::progressPercent() const
{
    return m_bar->value() / 10;
}

QString DownloadDialog::statusText() const
{
    return m_status->text();
}

QString DownloadDialog::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

void DownloadDialog::start()
{
    if (m_running || m_repo.isEmpty())
        return;
    if (destination().isEmpty()) {
        onFailed(tr("Choose a folder to download into."));
        return;
    }
    m_error->hide();
    m_use->hide();
    m_status->setText(tr("Connecting to %1...").arg(endpoint()));
    setRunning(true);
    m_worker->prepare();
    Q_EMIT downloadRequested(endpoint(), m_repo, m_revision, m_files, destination());
}

void DownloadDialog::cancel()
{
    if (!m_running)
        return;
    m_status->setText(tr("Stopping..."));
    m_worker->requestStop();
}

void DownloadDialog::reject()
{
    if (m_running)
        m_worker->requestStop(); // the destructor waits for it
    QDialog::reject();
}

void DownloadDialog::onProgress(
    const QString &file, qint64 done, qint64 total, double bytesPerSecond)
{
    if (total > 0)
        m_bar->setValue(int(1000.0 * double(done) / double(total)));
    QString text = tr("%1: %2 of %3 MB").arg(file, megabytes(done), megabytes(total));
    if (bytesPerSecond > 0) {
        text += tr(", %1 MB/s").arg(QString::number(bytesPerSecond / 1e6, 'f', 1));
        if (total > done)
            text += tr(", %1 left").arg(formatDuration(double(total - done) / bytesPerSecond));
    }
    m_status->setText(text);
}

void DownloadDialog::onFinished(const QString &dir, bool offline, const QString &reason)
{
    setRunning(false);
    m_bar->setValue(1000);
    if (offline) {
        m_status->setText(tr("%1 could not be reached (%2). The files already in %3 were not "
                             "re-checked against it.")
                              .arg(endpoint(), reason, dir));
    } else {
        m_status->setText(tr("Complete and verified: %1").arg(dir));
    }
    m_get->setText(tr("&Get"));
    m_use->show();
    m_use->setDefault(true);
    Q_EMIT completed(dir);
}

void DownloadDialog::onCancelled()
{
    setRunning(false);
    m_status->setText(tr("Stopped. The partial download is kept: Resume continues it."));
    m_get->setText(tr("&Resume"));
}

void DownloadDialog::onFailed(const QString &message)
{
    setRunning(false);
    m_status->setText(tr("The download failed."));
    m_error->setText(message);
    m_error->show();
}

void DownloadDialog::setRunning(bool running)
{
    m_running = running;
    m_get->setEnabled(!running && !m_repo.isEmpty());
    m_dest->setEnabled(!running);
    m_browse->setEnabled(!running);
    m_endpoint->setEnabled(!running);
    m_cancel->setText(running ? tr("Cancel") : tr("Close"));
}

} // namespace astpeft::ui
