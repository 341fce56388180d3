// SPDX-License-Identifier: MIT
// Sound devices through PortAudio: listing, microphone capture into a lock-free ring, and
// playback of a preloaded buffer. Torch-free and PortAudio-free (pimpl): ui/ and app/ include it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace astpeft::core {

/// One PortAudio device as the host API reports it.
struct AudioDeviceInfo
{
    int index = -1; // PortAudio's device index; valid while PortAudio stays initialised
    std::string name {};
    std::string hostApi {}; // e.g. "ALSA", "JACK Audio Connection Kit"
    int maxInputChannels = 0, maxOutputChannels = 0;
    double defaultSampleRate = 0.0; // Hz
    bool defaultInput = false, defaultOutput = false; // the host API's default device
};

/// Keeps PortAudio initialised while alive (reference counted and thread-safe; the captures and
/// players hold one each). PortAudio enumerates the devices when the first holder is created,
/// so devices plugged in later appear only once every holder is gone. A window that lists
/// devices often may hold one to avoid re-enumerating (ALSA probes every device each time).
/// Throws core::Error(Io) when PortAudio cannot start.
class AudioSession
{
public:
    AudioSession();
    ~AudioSession();
    AudioSession(const AudioSession &) = delete;
    AudioSession &operator=(const AudioSession &) = delete;
};

/// All PortAudio devices, inputs and outputs, in PortAudio's order. Any thread.
/// Throws core::Error(Io) when PortAudio cannot start.
std::vector<AudioDeviceInfo> listAudioDevices();

/// The device for `request`, which has input (`input`) or output channels:
/// - "" -> the default input (output) device;
/// - a decimal index -> that device;
/// - else a device whose name equals the text, or failing that the first whose name contains
///   it (both case-insensitive).
/// Throws core::Error(Usage) naming the request and listing the usable devices; Io when
/// PortAudio cannot start or there is no default device.
AudioDeviceInfo findAudioDevice(const std::string &request, bool input);

struct CaptureOptions
{
    std::string device {}; // as findAudioDevice(device, true)
    int sampleRate = 16000; // Hz; what read() delivers (mono float in [-1, 1])
    double bufferSeconds = 10; // ring capacity, at the device rate; overflows past this
    // Hz; 0: open the device at sampleRate when it supports it, else at its default rate.
    // Anything else must be supported (the device then runs at it and read() converts).
    int deviceRate = 0;
};

/// Microphone capture.
///
/// The stream delivers 16-bit samples. The PortAudio callback only converts them to float,
/// downmixes to mono (average of the opened channels: one when the device allows it, else two)
/// and copies into an SpscRingBuffer: it allocates nothing, takes no lock and makes no system
/// call. The reading side converts from the device rate to CaptureOptions::sampleRate with
/// libsamplerate's best sinc converter (the one decodeAudio() uses), in a persistent state.
///
/// Threads: construct, start(), stop() and destroy on one thread; read()/readWait() from one
/// consumer thread at a time (may be another); overflows(), failed(), error(), running() and
/// the accessors from any thread.
///
/// Example:
///   AudioCapture mic({ .device = "", .sampleRate = 16000 });
///   mic.start();
///   std::vector<float> block(1600);
///   while (mic.readWait(block, std::chrono::milliseconds(500)) == block.size()) { ... }
///   if (mic.failed()) report(mic.error());
class AudioCapture
{
public:
    /// Opens the device (not started). Throws core::Error naming the device: Usage for an
    /// unknown device or bad options, Io when PortAudio refuses to open it.
    explicit AudioCapture(const CaptureOptions &options);
    // Stops and closes; samples not read are lost. After a stall (see failed()) the stream and
    // its PortAudio session are left open, deliberately leaked, since closing would hang;
    // PortAudio's thread then keeps retrying (using CPU) until the process ends.
    ~AudioCapture();
    AudioCapture(const AudioCapture &) = delete;
    AudioCapture &operator=(const AudioCapture &) = delete;

    /// Starts (or restarts after stop()) the stream; samples not read before stay readable.
    /// Throws core::Error(Io) naming the device, also once the device failed (see failed()):
    /// a failed stream is not restarted (PortAudio 19.6 could hang); open a new AudioCapture.
    void start();
    /// Stops after the buffers in flight; what was captured stays readable. Never throws.
    void stop();
    /// Started, not stopped, and the stream still runs.
    bool running() const;

    /// Non-blocking: moves up to out.size() samples at options.sampleRate into `out` and
    /// returns the count (0 when nothing is ready). Consumer thread.
    std::size_t read(std::span<float> out);
    /// Like read(), but waits up to `timeout` until out.size() samples are ready; returns
    /// early, with what it has, once the stream has stopped or failed. Polls every few
    /// milliseconds (the callback cannot signal without a syscall). Consumer thread.
    std::size_t readWait(std::span<float> out, std::chrono::milliseconds timeout);

    /// Overflows so far: droppedSamples() + deviceOverflows().
    std::uint64_t overflows() const;
    /// Samples at the device rate dropped because the ring was full (the reader fell behind
    /// by more than bufferSeconds).
    std::uint64_t droppedSamples() const;
    /// Callbacks in which PortAudio reported an input overflow (data lost before the ring).
    std::uint64_t deviceOverflows() const;

    /// The stream stopped by itself (device unplugged, driver error), or stalled: no callback
    /// for 4 s while running. PortAudio 19.6's ALSA host API stalls when a device fails (its
    /// recovery retries for ever, and stopping the stream would then hang), so a watchdog
    /// thread (start() to stop()) notices; running() turns false and readWait() returns.
    /// Not set by stop(); once set, it stays.
    bool failed() const;
    /// Why failed() is true, naming the device; empty otherwise.
    std::string error() const;

    double deviceSampleRate() const; // Hz the device runs at
    int sampleRate() const; // Hz read() delivers
    int deviceChannels() const; // channels opened (averaged into mono)
    AudioDeviceInfo device() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

struct PlaybackOptions
{
    std::string device {}; // as findAudioDevice(device, false)
};

/// Plays mono float samples from a buffer loaded before the stream starts; the PortAudio
/// callback only copies from it. The device runs at the source rate when it supports it, else
/// at its default rate; any conversion (and the speed change) is done once in play() with
/// libsamplerate.
///
/// Threads: every member from one thread (the GUI's); the callback is the only other thread.
class AudioPlayer
{
public:
    /// Resolves the device (throws core::Error(Usage) for an unknown one, Io when PortAudio
    /// cannot start); the stream is opened by play().
    explicit AudioPlayer(const PlaybackOptions &options = {});
    ~AudioPlayer(); // stops
    AudioPlayer(const AudioPlayer &) = delete;
    AudioPlayer &operator=(const AudioPlayer &) = delete;

    /// Stops any previous playback and plays `samples` (mono, in [-1, 1]) recorded at
    /// `sampleRate` Hz. `speed` in [0.25, 2] plays faster or slower by resampling, so the pitch
    /// changes with it (2: an octave up). Returns once the stream runs; an empty buffer plays
    /// nothing. Throws core::Error: Usage for a bad rate or speed, Io naming the device when
    /// PortAudio refuses the stream.
    void play(std::vector<float> samples, int sampleRate, double speed = 1.0);
    /// Stops at once (the device's buffer is dropped). Never throws.
    void stop();
    /// From play() until the last sample has left the stream, or stop().
    bool playing() const;
    /// Seconds of the source played so far (source time axis, whatever the speed): samples
    /// handed to the device, so ahead of what is heard by the output latency. The source's
    /// duration once finished; 0 before the first play().
    double positionSeconds() const;
    AudioDeviceInfo device() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace astpeft::core
