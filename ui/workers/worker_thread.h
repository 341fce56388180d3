// SPDX-License-Identifier: MIT
// A worker QObject in a QThread of its own, owned by the widget that drives it: the worker is
// created here with no parent, moved to the thread, and deleted on that thread when it ends.
// The destructor quits the thread's event loop and joins it, so the owner must first make a
// long call in the worker return (its requestStop(), a stop token): the loop only ends
// between two calls. Connect the signals, then start().
#pragma once

#include <QObject>
#include <QString>
#include <QThread>

namespace astpeft::ui {

template<typename Worker> class WorkerThread
{
public:
    explicit WorkerThread(const QString &name)
        : m_worker(new Worker)
    {
        m_worker->moveToThread(&m_thread);
        QObject::connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
        m_thread.setObjectName(name);
    }
    ~WorkerThread()
    {
        m_thread.quit();
        m_thread.wait();
    }
    WorkerThread(const WorkerThread &) = delete;
    WorkerThread &operator=(const WorkerThread &) = delete;

    void start() { m_thread.start(); }
    // Thread-safe members only from other threads (requestStop() and the like); everything
    // else through queued signals.
    Worker *get() const { return m_worker; }
    Worker *operator->() const { return m_worker; }

private:
    QThread m_thread;
    Worker *m_worker; // lives in m_thread; deleted there when it finishes
};

} // namespace astpeft::ui
