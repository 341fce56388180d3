// SPDX-License-Identifier: MIT
#include "audio/audio_device.h"

#include "audio/audio_file.h"
#include "audio/ring_buffer.h"
#include "error.h"

#include <portaudio.h>
#include <samplerate.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <stop_token>
#include <thread>

namespace astpeft::core {

namespace {

// PortAudio's set-up calls (initialise, terminate, enumerate, open, close, format queries) are
// not documented as thread-safe; they all go through this one lock. Start, stop and the
// callbacks of one stream do not take it (Pa_StopStream may wait for a whole buffer).
std::mutex &portAudioMutex()
{
    static std::mutex mutex;
    return mutex;
}
int g_sessions = 0; // live AudioSessions; guarded by portAudioMutex()

std::string errorText(PaError error)
{
    std::string text = Pa_GetErrorText(error);
    if (error == paUnanticipatedHostError) {
        // The host API's own reason (e.g. ALSA's), set by the call that just failed.
        if (const PaHostErrorInfo *host = Pa_GetLastHostErrorInfo();
            host && host->errorText && *host->errorText)
            text += std::string(" (") + host->errorText + ")";
    }
    return text;
}

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
        [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

// `audio input "default" (ALSA, device 6)`: how every message names a device.
std::string describe(const AudioDeviceInfo &device, bool input)
{
    std::ostringstream out;
    out << "audio " << (input ? "input" : "output") << " \"" << device.name << "\" ("
        << device.hostApi << ", device " << device.index << ")";
    return out.str();
}

[[noreturn]] void throwPortAudio(
    const AudioDeviceInfo &device, bool input, const std::string &what, PaError error)
{
    std::ostringstream out;
    out << describe(device, input) << ": " << what << ": " << errorText(error);
    throw Error(ErrorKind::Io, out.str());
}

// Caller holds portAudioMutex() and an AudioSession.
AudioDeviceInfo deviceInfoLocked(PaDeviceIndex index)
{
    AudioDeviceInfo info;
    const PaDeviceInfo *pa = Pa_GetDeviceInfo(index);
    if (!pa)
        return info;
    info.index = index;
    info.name = pa->name ? pa->name : "";
    if (const PaHostApiInfo *api = Pa_GetHostApiInfo(pa->hostApi); api && api->name)
        info.hostApi = api->name;
    info.maxInputChannels = pa->maxInputChannels;
    info.maxOutputChannels = pa->maxOutputChannels;
    info.defaultSampleRate = pa->defaultSampleRate;
    info.defaultInput = index == Pa_GetDefaultInputDevice();
    info.defaultOutput = index == Pa_GetDefaultOutputDevice();
    return info;
}

std::vector<AudioDeviceInfo> listDevicesLocked()
{
    std::vector<AudioDeviceInfo> devices;
    const PaDeviceIndex count = Pa_GetDeviceCount();
    for (PaDeviceIndex i = 0; i < count; ++i)
        devices.push_back(deviceInfoLocked(i));
    return devices;
}

int channelsOf(const AudioDeviceInfo &device, bool input)
{
    return input ? device.maxInputChannels : device.maxOutputChannels;
}

struct StreamCloser
{
    void operator()(PaStream *stream) const noexcept
    {
        std::lock_guard lock(portAudioMutex());
        Pa_CloseStream(stream); // also aborts a running stream
    }
};
using StreamPtr = std::unique_ptr<PaStream, StreamCloser>;

struct SrcDeleter
{
    void operator()(SRC_STATE *state) const noexcept { src_delete(state); }
};
using SrcPtr = std::unique_ptr<SRC_STATE, SrcDeleter>;

struct StreamFormat
{
    double rate = 0.0; // Hz
    int channels = 0;
};

// The first of `rates` at which the device takes `sampleFormat` with 1 channel, else 2 (when
// it has them). Throws core::Error(Io) naming the device, the rates tried and PortAudio's
// reason for the last refusal. Caller holds an AudioSession. With ALSA every try opens the
// device.
StreamFormat pickFormat(const AudioDeviceInfo &device, bool input, PaSampleFormat sampleFormat,
    const std::vector<double> &rates)
{
    PaError refusal = paInvalidDevice;
    {
        std::lock_guard lock(portAudioMutex());
        if (const PaDeviceInfo *pa = Pa_GetDeviceInfo(device.index)) {
            for (double rate : rates) {
                for (int channels : { 1, 2 }) {
                    if (channels > channelsOf(device, input))
                        break;
                    PaStreamParameters parameters {};
                    parameters.device = device.index;
                    parameters.channelCount = channels;
                    parameters.sampleFormat = sampleFormat;
                    parameters.suggestedLatency =
                        input ? pa->defaultHighInputLatency : pa->defaultHighOutputLatency;
                    refusal = input ? Pa_IsFormatSupported(&parameters, nullptr, rate)
                                    : Pa_IsFormatSupported(nullptr, &parameters, rate);
                    if (refusal == paFormatIsSupported)
                        return StreamFormat { .rate = rate, .channels = channels };
                }
            }
        }
    }
    std::ostringstream what;
    what << "takes no " << (sampleFormat == paInt16 ? "16-bit" : "float")
         << " mono or stereo stream at";
    for (std::size_t i = 0; i < rates.size(); ++i)
        what << (i == 0 ? " " : ", ") << rates[i];
    what << " Hz";
    if (refusal == paBadIODeviceCombination || refusal == paDeviceUnavailable) {
        // What PortAudio's ALSA host API says when it cannot open the device at all.
        what << " (it could not be opened: in use, unplugged or misconfigured)";
    }
    throwPortAudio(device, input, what.str(), refusal);
}

// Opens a callback stream in one direction; throws core::Error(Io) naming the device.
StreamPtr openStream(const AudioDeviceInfo &device, bool input, PaSampleFormat sampleFormat,
    const StreamFormat &format, PaStreamCallback *callback, PaStreamFinishedCallback *finished,
    void *user)
{
    std::lock_guard lock(portAudioMutex());
    const PaDeviceInfo *pa = Pa_GetDeviceInfo(device.index);
    PaStreamParameters parameters {};
    parameters.device = device.index;
    parameters.channelCount = format.channels;
    parameters.sampleFormat = sampleFormat; // interleaved
    // The high (safe) latency: nothing here needs less than the tens of ms it means, and the
    // larger buffers ride out scheduling hiccups on a loaded machine.
    parameters.suggestedLatency =
        pa ? (input ? pa->defaultHighInputLatency : pa->defaultHighOutputLatency) : 0.1;
    PaStream *raw = nullptr;
    const PaError opened =
        Pa_OpenStream(&raw, input ? &parameters : nullptr, input ? nullptr : &parameters,
            format.rate, paFramesPerBufferUnspecified, paNoFlag, callback, user);
    if (opened != paNoError) {
        std::ostringstream what;
        what << "cannot open the stream (" << format.rate << " Hz, " << format.channels
             << " channel(s))";
        throwPortAudio(device, input, what.str(), opened);
    }
    StreamPtr stream(raw);
    if (const PaError set = Pa_SetStreamFinishedCallback(raw, finished); set != paNoError) {
        Pa_CloseStream(stream.release()); // under the lock already held
        throwPortAudio(device, input, "cannot watch the stream", set);
    }
    return stream;
}

} // namespace

// --- AudioSession ---------------------------------------------------------------------------

AudioSession::AudioSession()
{
    std::lock_guard lock(portAudioMutex());
    if (g_sessions == 0) {
        if (const PaError error = Pa_Initialize(); error != paNoError)
            throw Error(ErrorKind::Io, "cannot start PortAudio: " + errorText(error));
    }
    ++g_sessions;
}

AudioSession::~AudioSession()
{
    std::lock_guard lock(portAudioMutex());
    if (--g_sessions == 0)
        Pa_Terminate();
}

// --- Devices ----------------------------------------------------------------------------------

std::vector<AudioDeviceInfo> listAudioDevices()
{
    AudioSession session;
    std::lock_guard lock(portAudioMutex());
    return listDevicesLocked();
}

AudioDeviceInfo findAudioDevice(const std::string &request, bool input)
{
    AudioSession session;
    std::lock_guard lock(portAudioMutex());
    const std::vector<AudioDeviceInfo> devices = listDevicesLocked();
    const char *direction = input ? "input" : "output";
    auto usable = [&](const AudioDeviceInfo &device) { return channelsOf(device, input) > 0; };
    auto listing = [&] {
        std::ostringstream out;
        out << direction << "s:";
        bool any = false;
        for (const AudioDeviceInfo &device : devices) {
            if (usable(device)) {
                out << (any ? ", " : " ") << device.index << " \"" << device.name << "\" ("
                    << device.hostApi << ")";
                any = true;
            }
        }
        if (!any)
            out << " none";
        return out.str();
    };

    if (request.empty()) {
        const PaDeviceIndex index =
            input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
        if (index == paNoDevice || index < 0 || std::size_t(index) >= devices.size()) {
            throw Error(ErrorKind::Io,
                std::string("no default audio ") + direction + " device; " + listing());
        }
        return devices[std::size_t(index)];
    }

    std::ostringstream problem;
    if (std::all_of(
            request.begin(), request.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
        const long index = request.size() <= 9 ? std::stol(request) : -1;
        if (index >= 0 && std::size_t(index) < devices.size()
            && usable(devices[std::size_t(index)]))
            return devices[std::size_t(index)];
        problem << "no audio " << direction << " has index " << request;
    } else {
        const std::string wanted = lower(request);
        for (const AudioDeviceInfo &device : devices) {
            if (usable(device) && lower(device.name) == wanted)
                return device;
        }
        for (const AudioDeviceInfo &device : devices) {
            if (usable(device) && lower(device.name).find(wanted) != std::string::npos)
                return device;
        }
        problem << "no audio " << direction << " matches \"" << request << "\"";
    }
    problem << "; " << listing();
    throw Error(ErrorKind::Usage, problem.str());
}

// --- AudioCapture -----------------------------------------------------------------------------

namespace {
// 16-bit samples (PortAudio converts when the device's native format differs): what training
// clips hold, and the format ALSA's file plugin (the tests' virtual microphone) must be asked
// for, since it hands over the file's bytes in whatever format the stream requests.
constexpr PaSampleFormat kCaptureFormat = paInt16;

// A running stream whose callback has not run for this long has stalled. PortAudio 19.6's ALSA
// host API does this when a device fails (unplugged USB microphone): its xrun recovery fails
// and it retries forever in its own thread, never calling the callback or the finished
// callback again, and Pa_StopStream/Pa_AbortStream/Pa_CloseStream then wait for that thread
// for ever (PortAudio issue #1037, fixed upstream in 2025). A live stream calls back every
// buffer (tens of ms at the high latency used here), so seconds of silence are no hiccup.
constexpr std::chrono::milliseconds kStallTimeout { 4000 };
} // namespace

struct AudioCapture::Impl
{
    AudioSession session; // first: outlives the stream
    CaptureOptions options;
    AudioDeviceInfo info;
    StreamFormat format;
    std::unique_ptr<SpscRingBuffer<float>> ring; // device-rate mono; callback writes

    // Written by the callback thread, read anywhere.
    std::atomic<std::uint64_t> dropped { 0 };
    std::atomic<std::uint64_t> deviceOverflows { 0 };
    std::atomic<bool> finished { false }; // the stream became inactive (PortAudio told us)
    // Written by start()/stop().
    std::atomic<bool> started { false };
    std::atomic<bool> stopRequested { false }; // tells a requested end from a failure
    std::atomic<bool> broken { false }; // ended by itself (set by streamFinished); sticky
    std::atomic<std::uint64_t> callbacks { 0 }; // callback runs; the watchdog watches it
    // The watchdog saw the stream stall (see kStallTimeout): PortAudio's thread is stuck, and
    // the stream must never be stopped or closed (that would hang), nor `this` freed.
    std::atomic<bool> stalled { false };

    // Watchdog thread: from start() to stop(); sets `stalled` and ends when callbacks stop
    // coming while the stream is meant to run.
    std::mutex watchMutex;
    std::condition_variable_any watchWake;
    std::jthread watchdog;

    void watch(std::stop_token stop)
    {
        using Clock = std::chrono::steady_clock;
        std::uint64_t seen = callbacks.load(std::memory_order_relaxed);
        Clock::time_point since = Clock::now();
        std::unique_lock lock(watchMutex);
        while (!watchWake.wait_for(
            lock, stop, std::chrono::milliseconds(50), [&] { return stop.stop_requested(); })) {
            if (finished.load(std::memory_order_acquire))
                return; // ended, reported by PortAudio itself
            const std::uint64_t now = callbacks.load(std::memory_order_relaxed);
            if (now != seen) {
                seen = now;
                since = Clock::now();
            } else if (Clock::now() - since >= kStallTimeout) {
                stalled.store(true, std::memory_order_release);
                return;
            }
        }
    }

    // Consumer side: libsamplerate state and the device-rate samples it has not consumed yet.
    SrcPtr src;
    double ratio = 1.0; // output rate / device rate
    std::vector<float> pending;
    std::size_t pendingBegin = 0, pendingEnd = 0;

    StreamPtr stream; // last: closed first

    // Real-time: no allocation, lock, exception or syscall. Interleaved int16 input.
    static int callback(const void *input, void *, unsigned long frames,
        const PaStreamCallbackTimeInfo *, PaStreamCallbackFlags flags, void *user) noexcept
    {
        auto *self = static_cast<Impl *>(user);
        self->callbacks.fetch_add(1, std::memory_order_relaxed);
        if (flags & paInputOverflow)
            self->deviceOverflows.fetch_add(1, std::memory_order_relaxed);
        if (!input)
            return paContinue;
        const auto *samples = static_cast<const std::int16_t *>(input);
        const auto channels = unsigned(self->format.channels);
        const float scale = 1.0f / (32768.0f * float(channels)); // to [-1, 1), averaged
        // Converted and downmixed through a small stack buffer, in pieces.
        constexpr unsigned long kPiece = 256;
        float mono[kPiece];
        std::uint64_t lost = 0;
        for (unsigned long done = 0; done < frames;) {
            const unsigned long n = std::min(kPiece, frames - done);
            for (unsigned long i = 0; i < n; ++i) {
                const std::int16_t *frame = samples + (done + i) * channels;
                int sum = 0;
                for (unsigned c = 0; c < channels; ++c)
                    sum += frame[c];
                mono[i] = float(sum) * scale;
            }
            lost += n - self->ring->write(mono, n);
            done += n;
        }
        if (lost)
            self->dropped.fetch_add(lost, std::memory_order_relaxed);
        return paContinue;
    }

    // Called by PortAudio when the stream becomes inactive: after stop() or on its own.
    static void streamFinished(void *user) noexcept
    {
        auto *self = static_cast<Impl *>(user);
        if (!self->stopRequested.load())
            self->broken.store(true, std::memory_order_release);
        self->finished.store(true, std::memory_order_release);
    }
};

AudioCapture::AudioCapture(const CaptureOptions &options)
    : d(std::make_unique<Impl>())
{
    d->options = options;
    d->info = findAudioDevice(options.device, true);
    auto bad = [&](const std::string &what) {
        throw Error(ErrorKind::Usage, describe(d->info, true) + ": " + what);
    };
    if (options.sampleRate < kMinSampleRate || options.sampleRate > kMaxSampleRate) {
        bad("sample rate " + std::to_string(options.sampleRate) + " Hz is outside "
            + std::to_string(kMinSampleRate) + "-" + std::to_string(kMaxSampleRate) + " Hz");
    }
    if (options.deviceRate != 0
        && (options.deviceRate < kMinSampleRate || options.deviceRate > kMaxSampleRate)) {
        bad("device rate " + std::to_string(options.deviceRate) + " Hz is outside "
            + std::to_string(kMinSampleRate) + "-" + std::to_string(kMaxSampleRate) + " Hz");
    }
    if (!(options.bufferSeconds > 0.0) || options.bufferSeconds > 3600.0)
        bad("buffer of " + std::to_string(options.bufferSeconds) + " s is outside (0, 3600] s");

    std::vector<double> rates { double(options.deviceRate) };
    if (options.deviceRate == 0) {
        rates = { double(options.sampleRate) };
        if (d->info.defaultSampleRate > 0 && d->info.defaultSampleRate != rates[0])
            rates.push_back(d->info.defaultSampleRate);
    }
    d->format = pickFormat(d->info, true, kCaptureFormat, rates);

    const auto capacity = std::size_t(std::ceil(options.bufferSeconds * d->format.rate));
    d->ring = std::make_unique<SpscRingBuffer<float>>(std::max<std::size_t>(capacity, 1));
    if (d->format.rate != double(options.sampleRate)) {
        int error = 0;
        // The converter decodeAudio() uses, so that live audio matches training audio.
        d->src.reset(src_new(SRC_SINC_BEST_QUALITY, 1, &error));
        if (!d->src)
            throw Error(ErrorKind::Internal, std::string("libsamplerate: ") + src_strerror(error));
        d->ratio = double(options.sampleRate) / d->format.rate;
        d->pending.resize(4096);
    }
    d->stream = openStream(
        d->info, true, kCaptureFormat, d->format, &Impl::callback, &Impl::streamFinished, d.get());
}

AudioCapture::~AudioCapture()
{
    if (d->stalled.load()) {
        // PortAudio's thread is stuck in the stream and still points at *d: closing the stream
        // would wait for it for ever, and the session (first member) keeps PortAudio from
        // being terminated under it. Both stay, deliberately leaked, until the process ends.
        (void)d.release();
        return;
    }
    stop();
}

void AudioCapture::start()
{
    if (failed()) {
        // Not retried on this stream: a stalled one is stuck (see failed()), and PortAudio
        // 19.6's ALSA host API deadlocks in Pa_StartStream when the device refuses to start
        // again (its new thread fails while holding the lock the caller waits for).
        throw Error(ErrorKind::Io,
            describe(d->info, true)
                + ": cannot restart capturing: the device failed; open it again");
    }
    if (d->started.load() && !d->finished.load())
        return;
    d->finished.store(false);
    d->stopRequested.store(false);
    if (const PaError error = Pa_StartStream(d->stream.get()); error != paNoError) {
        d->started.store(false);
        throwPortAudio(d->info, true, "cannot start capturing", error);
    }
    d->started.store(true);
    d->watchdog = std::jthread([impl = d.get()](std::stop_token stop) { impl->watch(stop); });
}

void AudioCapture::stop()
{
    if (!d || !d->started.load())
        return;
    d->stopRequested.store(true);
    if (d->watchdog.joinable()) {
        d->watchdog.request_stop();
        d->watchdog.join();
    }
    if (d->stalled.load())
        return; // Pa_StopStream would wait for ever; failed() stays true
    Pa_StopStream(d->stream.get()); // an error means it already stopped; nothing to do
    d->started.store(false);
}

bool AudioCapture::running() const
{
    return d->started.load() && !d->finished.load(std::memory_order_acquire)
        && !d->stalled.load(std::memory_order_acquire);
}

std::size_t AudioCapture::read(std::span<float> out)
{
    if (!d->src)
        return d->ring->read(out.data(), out.size());
    std::size_t produced = 0;
    while (produced < out.size()) {
        if (d->pendingBegin == d->pendingEnd) {
            d->pendingBegin = 0;
            d->pendingEnd = d->ring->read(d->pending.data(), d->pending.size());
            if (d->pendingEnd == 0)
                break;
        }
        SRC_DATA data {};
        data.data_in = d->pending.data() + d->pendingBegin;
        data.input_frames = long(d->pendingEnd - d->pendingBegin);
        data.data_out = out.data() + produced;
        data.output_frames = long(std::min<std::size_t>(out.size() - produced, 1 << 20));
        data.src_ratio = d->ratio;
        data.end_of_input = 0; // a live stream never ends; the filter's tail stays inside
        if (const int error = src_process(d->src.get(), &data))
            throw Error(ErrorKind::Internal, std::string("libsamplerate: ") + src_strerror(error));
        d->pendingBegin += std::size_t(data.input_frames_used);
        produced += std::size_t(data.output_frames_gen);
        if (data.input_frames_used == 0 && data.output_frames_gen == 0)
            break;
    }
    return produced;
}

std::size_t AudioCapture::readWait(std::span<float> out, std::chrono::milliseconds timeout)
{
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline = Clock::now() + timeout;
    std::size_t count = 0;
    for (;;) {
        count += read(out.subspan(count));
        if (count == out.size())
            break;
        if (!running()) {
            count += read(out.subspan(count)); // what arrived just before it stopped
            break;
        }
        const Clock::time_point now = Clock::now();
        if (now >= deadline)
            break;
        // Sleep about as long as the missing samples take to arrive, 1 to 10 ms.
        const double missingSeconds = double(out.size() - count) / double(d->options.sampleRate);
        const auto nap = std::clamp(std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(missingSeconds)),
            Clock::duration(std::chrono::milliseconds(1)),
            Clock::duration(std::chrono::milliseconds(10)));
        std::this_thread::sleep_for(std::min(nap, deadline - now));
    }
    return count;
}

std::uint64_t AudioCapture::overflows() const
{
    return droppedSamples() + deviceOverflows();
}

std::uint64_t AudioCapture::droppedSamples() const
{
    return d->dropped.load(std::memory_order_relaxed);
}

std::uint64_t AudioCapture::deviceOverflows() const
{
    return d->deviceOverflows.load(std::memory_order_relaxed);
}

bool AudioCapture::failed() const
{
    return d->broken.load(std::memory_order_acquire) || d->stalled.load(std::memory_order_acquire);
}

std::string AudioCapture::error() const
{
    if (!failed())
        return {};
    if (d->stalled.load(std::memory_order_acquire)) {
        return describe(d->info, true)
            + ": the stream stopped delivering audio (device unplugged or driver error)";
    }
    return describe(d->info, true)
        + ": the stream stopped by itself (device unplugged or driver error)";
}

double AudioCapture::deviceSampleRate() const
{
    return d->format.rate;
}

int AudioCapture::sampleRate() const
{
    return d->options.sampleRate;
}

int AudioCapture::deviceChannels() const
{
    return d->format.channels;
}

AudioDeviceInfo AudioCapture::device() const
{
    return d->info;
}

// --- AudioPlayer ------------------------------------------------------------------------------

struct AudioPlayer::Impl
{
    AudioSession session; // first: outlives the stream
    AudioDeviceInfo info;
    StreamFormat format;
    // Device-rate mono samples; not touched by play()/stop() while a stream is open.
    std::vector<float> buffer;
    std::size_t sourceFrames = 0;
    int sourceRate = 0;

    std::atomic<std::size_t> next { 0 }; // index into buffer; callback stores
    std::atomic<bool> playing { false };

    StreamPtr stream; // last: closed first

    // Real-time: copies the next piece of the buffer to every channel, then silence.
    static int callback(const void *, void *output, unsigned long frames,
        const PaStreamCallbackTimeInfo *, PaStreamCallbackFlags, void *user) noexcept
    {
        auto *self = static_cast<Impl *>(user);
        auto *out = static_cast<float *>(output);
        const int channels = self->format.channels;
        const std::size_t begin = self->next.load(std::memory_order_relaxed);
        const std::size_t n = std::min<std::size_t>(frames, self->buffer.size() - begin);
        const float *source = self->buffer.data() + begin;
        if (channels == 1) {
            std::copy_n(source, n, out);
        } else {
            for (std::size_t i = 0; i < n; ++i)
                std::fill_n(out + i * unsigned(channels), channels, source[i]);
        }
        std::fill(out + n * unsigned(channels), out + frames * unsigned(channels), 0.0f);
        self->next.store(begin + n, std::memory_order_release);
        // paComplete: PortAudio plays what it has, then calls streamFinished().
        return begin + n >= self->buffer.size() ? paComplete : paContinue;
    }

    static void streamFinished(void *user) noexcept
    {
        static_cast<Impl *>(user)->playing.store(false, std::memory_order_release);
    }

    void close() noexcept
    {
        if (stream) {
            Pa_AbortStream(stream.get()); // drops what the device still holds
            stream.reset();
        }
        playing.store(false);
    }
};

namespace {

// The whole of `input` at `ratio` (output rate / input rate): round(n * ratio) samples, the end
// flushed as core::resample() does (trailing zeros, surplus cut). libsamplerate's medium sinc
// converter: play() runs on the GUI thread, where the best one would take about 0.45 s for a
// 10 s clip at half speed (measured; medium: 0.15 s).
std::vector<float> convertRate(std::span<const float> input, double ratio)
{
    int error = 0;
    SrcPtr state(src_new(SRC_SINC_MEDIUM_QUALITY, 1, &error));
    if (!state)
        throw Error(ErrorKind::Internal, std::string("libsamplerate: ") + src_strerror(error));
    const auto expected = std::size_t(std::llround(double(input.size()) * ratio));
    std::vector<float> padded(input.begin(), input.end());
    padded.resize(input.size() + std::size_t(std::ceil(2.0 / ratio)) + 2, 0.0f);
    std::vector<float> output(expected + 64, 0.0f);
    SRC_DATA data {};
    data.data_in = padded.data();
    data.input_frames = long(padded.size());
    data.data_out = output.data();
    data.output_frames = long(output.size());
    data.src_ratio = ratio;
    data.end_of_input = 1;
    std::size_t produced = 0;
    // One call normally does it all; loop in case libsamplerate stops early.
    for (;;) {
        if (const int e = src_process(state.get(), &data))
            throw Error(ErrorKind::Internal, std::string("libsamplerate: ") + src_strerror(e));
        produced += std::size_t(data.output_frames_gen);
        data.data_in += data.input_frames_used;
        data.input_frames -= data.input_frames_used;
        data.data_out += data.output_frames_gen;
        data.output_frames -= data.output_frames_gen;
        if (data.output_frames_gen == 0 || data.output_frames == 0)
            break;
    }
    output.resize(std::min(produced, expected)); // libsamplerate may stop a sample short
    output.resize(expected, 0.0f);
    return output;
}

} // namespace

AudioPlayer::AudioPlayer(const PlaybackOptions &options)
    : d(std::make_unique<Impl>())
{
    d->info = findAudioDevice(options.device, false);
}

AudioPlayer::~AudioPlayer()
{
    stop();
}

void AudioPlayer::play(std::vector<float> samples, int sampleRate, double speed)
{
    if (sampleRate < kMinSampleRate || sampleRate > kMaxSampleRate) {
        throw Error(ErrorKind::Usage,
            describe(d->info, false) + ": sample rate " + std::to_string(sampleRate)
                + " Hz is outside " + std::to_string(kMinSampleRate) + "-"
                + std::to_string(kMaxSampleRate) + " Hz");
    }
    if (!(speed >= 0.25 && speed <= 2.0)) {
        throw Error(ErrorKind::Usage,
            describe(d->info, false) + ": speed " + std::to_string(speed) + " is outside 0.25-2");
    }
    stop(); // the callback no longer reads the buffer
    d->sourceFrames = samples.size();
    d->sourceRate = sampleRate;
    d->next.store(0);
    d->buffer.clear();
    if (samples.empty())
        return;

    std::vector<double> rates;
    for (double rate : { double(sampleRate), d->info.defaultSampleRate, 48000.0, 44100.0 }) {
        if (rate > 0 && std::find(rates.begin(), rates.end(), rate) == rates.end())
            rates.push_back(rate);
    }
    d->format = pickFormat(d->info, false, paFloat32, rates);
    // Playing a source of rate r at speed s means treating it as recorded at r * s.
    const double ratio = d->format.rate / (double(sampleRate) * speed);
    d->buffer = std::abs(ratio - 1.0) < 1e-12 ? std::move(samples) : convertRate(samples, ratio);
    if (d->buffer.empty())
        return;

    d->stream = openStream(
        d->info, false, paFloat32, d->format, &Impl::callback, &Impl::streamFinished, d.get());
    d->playing.store(true);
    if (const PaError error = Pa_StartStream(d->stream.get()); error != paNoError) {
        d->close();
        throwPortAudio(d->info, false, "cannot start playback", error);
    }
}

void AudioPlayer::stop()
{
    if (d)
        d->close();
}

bool AudioPlayer::playing() const
{
    return d->playing.load(std::memory_order_acquire);
}

double AudioPlayer::positionSeconds() const
{
    if (d->buffer.empty() || d->sourceRate <= 0)
        return 0.0;
    const std::size_t played = std::min(d->next.load(std::memory_order_acquire), d->buffer.size());
    // Device samples map linearly onto the source: the last one is the source's end.
    const double sourceFrames = double(played) * double(d->sourceFrames) / double(d->buffer.size());
    return sourceFrames / double(d->sourceRate);
}

AudioDeviceInfo AudioPlayer::device() const
{
    return d->info;
}

} // namespace astpeft::core
