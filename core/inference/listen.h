// SPDX-License-Identifier: MIT
// Live classification as one job: the microphone (AudioCapture) -> the streaming engine
// (StreamingClassifier) -> windows and detections, with an observer and a stop token. The one
// loop behind `astpeft listen` and the studio's Live view.
//
// Blocks end where windows end (at most half a hop, at least 10 ms), so a window's last sample
// is the last one read and its latency runs from the read to the result; a read waits at most
// 200 ms, so a stop request is seen within that. Another thread can switch the adapter or the
// detection options between two blocks through a ListenControl; the microphone stays open and
// the stream's clock continues. Torch-free public header.
#pragma once

#include "audio/audio_device.h"
#include "audio/take_splitter.h"
#include "inference/streaming.h"

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace astpeft::core {

struct ListenOptions
{
    std::string input {}; // the microphone, as findAudioDevice takes it ("" = default input)
    StreamOptions stream {};
    // Captured audio to classify, in seconds; 0: until stopped.
    double seconds = 0;
    // The capture ring's capacity in seconds; 0: 10 s, or all of `seconds` up to 10 minutes (a
    // source faster than real time, such as a file-backed device, then loses nothing).
    double bufferSeconds = 0;
    // Fill ListenWindow::frames with the fbank frames each window added (a spectrogram view).
    bool withFrames = false;
};

// One classified window. Times are seconds of audio since listening started, continuous across
// adapter and option switches.
struct ListenWindow
{
    double seconds = 0;
    WindowResult result {}; // endSeconds is the engine's own clock; use `seconds`
    // The normalised fbank frames (as the model sees them) this window added: frames x bins,
    // row-major, 10 ms apart, the last one ending at `seconds`. Only with withFrames.
    int bins = 0;
    std::vector<float> frames {};
};

struct ListenStatus
{
    double seconds = 0; // audio classified so far
    std::uint64_t overflows = 0; // AudioCapture::overflows()
    std::uint64_t droppedSamples = 0;
};

struct ListenSummary
{
    AudioDeviceInfo device {};
    double seconds = 0; // audio classified
    std::vector<double> latenciesMs {}; // per window
    std::size_t detections = 0;
    std::uint64_t overflows = 0;
    // Whether samples the capture dropped belonged to the classified audio (samples dropped
    // after a --seconds limit that the ring held whole do not).
    bool gaps = false;
    bool stopped = false; // by the stop token
    // Why the microphone stopped by itself (unplugged, failed); empty otherwise.
    std::string failure {};
};

class ListenObserver
{
public:
    virtual ~ListenObserver() = default;
    // The microphone is open and running, with these labels.
    virtual void onStarted(const AudioDeviceInfo &, const std::vector<std::string> &) { }
    virtual void onLevel(const Level &) { } // per block read
    virtual void onWindow(const ListenWindow &) { }
    virtual void onDetection(const Detection &) { } // seconds as ListenWindow::seconds
    virtual void onStatus(const ListenStatus &) { } // per block read
    virtual void onAdapterChanged(const std::filesystem::path &, const std::vector<std::string> &)
    { }
    // A requested adapter was refused; the previous one keeps running.
    virtual void onAdapterFailed(const std::filesystem::path &, const std::string &) { }
};

// Changes for a running listen(), from any thread; applied between two blocks.
class ListenControl
{
public:
    void requestAdapter(std::filesystem::path adapter); // empty: the bare backbone
    void requestOptions(const StreamOptions &options); // the smoothing history restarts

    struct Changes
    {
        std::optional<std::filesystem::path> adapter;
        std::optional<StreamOptions> options;
    };
    Changes take(); // listen()'s side: the pending changes, cleared

private:
    std::mutex m_mutex;
    Changes m_pending;
};

// Opens options.input at the model's rate and classifies until `stop`, `options.seconds` of
// audio, or the microphone stops by itself (then summary.failure says why). Throws
// core::Error(Io) naming the device when it cannot open, core::Error(Usage) for bad stream
// options; other errors propagate after the microphone is closed. `model` must not be used
// elsewhere meanwhile (switching adapters changes it).
ListenSummary listen(AstClassifier &model, const ListenOptions &options, ListenObserver &observer,
    std::stop_token stop = {}, ListenControl *control = nullptr);

// The options the engine accepts for `labels`: a background label the adapter lacks is dropped
// (another adapter may name its silence class differently).
StreamOptions streamOptionsFor(StreamOptions options, const std::vector<std::string> &labels);

} // namespace astpeft::core
