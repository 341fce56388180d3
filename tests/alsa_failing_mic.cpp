// SPDX-License-Identifier: MIT
// A microphone that breaks, for tests: an ALSA external (ioplug) PCM plugin whose capture
// stream delivers a raw file in real time and then fails the way an unplugged USB microphone
// does (the driver answers -ENODEV). It is not a hook in the code under test: PortAudio's ALSA
// host API sees a real driver error, stops its callback thread by itself and calls the
// stream-finished callback, as with real hardware.
//
// Configuration (the tests write it into .asoundrc, see tests/virtual_audio.h):
//   pcm_type.failing { lib "/path/libasound_module_pcm_failing.so" }
//   pcm.brokenmic { type failing; infile "/path/in.raw"; frames 8000; failure "poll" }
// - infile: raw 16-bit little-endian mono samples, read in order; silence after its end;
// - frames: how many frames the stream delivers; a quarter of a second after the last of them
//   the device is gone: every call fails with -ENODEV until the PCM is closed (opening it
//   again gives a fresh one);
// - failure: how the loss shows.
//   "poll" (default): polling the device fails. PortAudio 19.6 then ends its callback thread
//   and calls the stream-finished callback.
//   "xrun": like an unplugged USB device, poll reports POLLERR and the hw pointer fails, so
//   PortAudio tries to recover from an xrun; its recovery (prepare) fails, and PortAudio 19.6
//   retries for ever in its thread (its issue #1037): the stream stalls, and stopping it
//   would hang. Each failed prepare here sleeps 10 ms, to keep that loop off the CPU.
// The stream takes only S16_LE, 1 channel, 16000 Hz (what AudioCapture asks for in the tests).
#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace {

constexpr unsigned kRate = 16000; // Hz

struct FailingMic
{
    snd_pcm_ioplug_t io {};
    int file = -1; // the infile
    int timer = -1; // timerfd ticking once a period while running: the poll descriptor
    std::uint64_t failAfter = 0; // frames
    std::uint64_t position = 0; // frames delivered (hw pointer, unwrapped) at `since`
    timespec since {}; // when the stream (re)started
    bool running = false;
    bool failed = false;
    bool xrun = false; // failure "xrun"
};

double secondsSince(const timespec &start)
{
    timespec now {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return double(now.tv_sec - start.tv_sec) + double(now.tv_nsec - start.tv_nsec) * 1e-9;
}

// The unwrapped hw pointer now: real time since start, capped at failAfter.
std::uint64_t positionNow(const FailingMic &mic)
{
    if (!mic.running)
        return mic.position;
    const auto elapsed = std::uint64_t(secondsSince(mic.since) * kRate);
    const std::uint64_t position = mic.position + elapsed;
    return position < mic.failAfter ? position : mic.failAfter;
}

void armTimer(FailingMic &mic, bool on)
{
    itimerspec spec {};
    if (on) {
        const long periodNs = long(double(mic.io.period_size) * 1e9 / kRate);
        spec.it_interval.tv_sec = periodNs / 1000000000L;
        spec.it_interval.tv_nsec = periodNs % 1000000000L;
        spec.it_value = spec.it_interval;
    }
    timerfd_settime(mic.timer, 0, &spec, nullptr);
}

FailingMic *self(snd_pcm_ioplug_t *io)
{
    return static_cast<FailingMic *>(io->private_data);
}

int start(snd_pcm_ioplug_t *io)
{
    FailingMic &mic = *self(io);
    if (mic.failed)
        return -ENODEV;
    clock_gettime(CLOCK_MONOTONIC, &mic.since);
    mic.running = true;
    armTimer(mic, true);
    return 0;
}

int stop(snd_pcm_ioplug_t *io)
{
    FailingMic &mic = *self(io);
    mic.position = positionNow(mic);
    mic.running = false;
    armTimer(mic, false);
    return 0;
}

int prepare(snd_pcm_ioplug_t *io)
{
    if (!self(io)->failed)
        return 0;
    if (self(io)->xrun)
        usleep(10000);
    return -ENODEV;
}

// Whether the device is gone: a quarter of a second after the last frame before failAfter
// came in (time for the reader to take it all).
bool gone(FailingMic &mic)
{
    if (!mic.failed && mic.running
        && mic.position + std::uint64_t(secondsSince(mic.since) * kRate)
            >= mic.failAfter + kRate / 4)
        mic.failed = true;
    return mic.failed;
}

snd_pcm_sframes_t pointer(snd_pcm_ioplug_t *io)
{
    FailingMic &mic = *self(io);
    if (mic.xrun && gone(mic))
        return -ENODEV;
    return snd_pcm_sframes_t(positionNow(mic) % io->buffer_size);
}

// Copies the next `size` frames of the infile (silence past its end) into the areas.
snd_pcm_sframes_t transfer(snd_pcm_ioplug_t *io, const snd_pcm_channel_area_t *areas,
    snd_pcm_uframes_t offset, snd_pcm_uframes_t size)
{
    FailingMic &mic = *self(io);
    if (mic.failed)
        return -ENODEV;
    auto *out = static_cast<char *>(areas[0].addr) + (areas[0].first + areas[0].step * offset) / 8;
    const std::size_t bytes = size * 2;
    std::size_t got = 0;
    while (got < bytes) {
        const ssize_t n = ::read(mic.file, out + got, bytes - got);
        if (n <= 0)
            break;
        got += std::size_t(n);
    }
    std::memset(out + got, 0, bytes - got);
    return snd_pcm_sframes_t(size);
}

int pollRevents(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned nfds, unsigned short *revents)
{
    FailingMic &mic = *self(io);
    std::uint64_t ticks = 0;
    if (nfds == 1 && (pfd[0].revents & POLLIN)) [[maybe_unused]]
        const ssize_t n = ::read(mic.timer, &ticks, sizeof ticks); // rearms
    if (gone(mic)) {
        if (!mic.xrun)
            return -ENODEV;
        *revents = POLLERR;
        return 0;
    }
    *revents = pfd[0].revents & (POLLIN | POLLERR | POLLHUP);
    return 0;
}

int close(snd_pcm_ioplug_t *io)
{
    FailingMic *mic = self(io);
    ::close(mic->file);
    ::close(mic->timer);
    delete mic;
    return 0;
}

const snd_pcm_ioplug_callback_t kCallbacks = [] {
    snd_pcm_ioplug_callback_t callbacks {};
    callbacks.start = start;
    callbacks.stop = stop;
    callbacks.pointer = pointer;
    callbacks.transfer = transfer;
    callbacks.close = close;
    callbacks.prepare = prepare;
    callbacks.poll_revents = pollRevents;
    return callbacks;
}();

int setConstraints(snd_pcm_ioplug_t *io)
{
    static const unsigned access[] = { SND_PCM_ACCESS_MMAP_INTERLEAVED,
        SND_PCM_ACCESS_MMAP_NONINTERLEAVED, SND_PCM_ACCESS_RW_INTERLEAVED,
        SND_PCM_ACCESS_RW_NONINTERLEAVED };
    static const unsigned formats[] = { SND_PCM_FORMAT_S16_LE };
    int error = 0;
    if ((error = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_ACCESS, 4, access)) < 0
        || (error = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_FORMAT, 1, formats)) < 0
        || (error = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_CHANNELS, 1, 1)) < 0
        || (error = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_RATE, kRate, kRate)) < 0
        || (error = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIOD_BYTES, 256, 16384))
            < 0
        || (error = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIODS, 2, 64)) < 0)
        return error;
    return 0;
}

} // namespace

extern "C" {

SND_PCM_PLUGIN_DEFINE_FUNC(failing)
{
    (void)root;
    const char *infile = nullptr;
    long frames = -1;
    const char *failure = "poll";
    snd_config_iterator_t i, next;
    snd_config_for_each(i, next, conf)
    {
        snd_config_t *entry = snd_config_iterator_entry(i);
        const char *id = nullptr;
        if (snd_config_get_id(entry, &id) < 0)
            continue;
        if (!std::strcmp(id, "comment") || !std::strcmp(id, "type") || !std::strcmp(id, "hint"))
            continue;
        if (!std::strcmp(id, "infile") && snd_config_get_string(entry, &infile) >= 0)
            continue;
        if (!std::strcmp(id, "frames") && snd_config_get_integer(entry, &frames) >= 0)
            continue;
        if (!std::strcmp(id, "failure") && snd_config_get_string(entry, &failure) >= 0
            && (!std::strcmp(failure, "poll") || !std::strcmp(failure, "xrun")))
            continue;
        SNDERR("failing: unknown or bad field %s", id);
        return -EINVAL;
    }
    if (!infile || frames < 0) {
        SNDERR("failing: needs infile and frames");
        return -EINVAL;
    }
    if (stream != SND_PCM_STREAM_CAPTURE)
        return -ENOTSUP;

    auto *mic = new FailingMic;
    mic->failAfter = std::uint64_t(frames);
    mic->xrun = !std::strcmp(failure, "xrun");
    mic->file = ::open(infile, O_RDONLY | O_CLOEXEC);
    mic->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (mic->file < 0 || mic->timer < 0) {
        const int error = -errno;
        if (mic->file >= 0)
            ::close(mic->file);
        if (mic->timer >= 0)
            ::close(mic->timer);
        delete mic;
        return error;
    }
    mic->io.version = SND_PCM_IOPLUG_VERSION;
    mic->io.name = "failing test microphone";
    mic->io.poll_fd = mic->timer;
    mic->io.poll_events = POLLIN;
    mic->io.mmap_rw = 0;
    mic->io.callback = &kCallbacks;
    mic->io.private_data = mic;
    int error = snd_pcm_ioplug_create(&mic->io, name, stream, mode);
    if (error < 0) {
        ::close(mic->file);
        ::close(mic->timer);
        delete mic;
        return error;
    }
    if ((error = setConstraints(&mic->io)) < 0) {
        snd_pcm_ioplug_delete(&mic->io); // calls close()
        return error;
    }
    *pcmp = mic->io.pcm;
    return 0;
}

SND_PCM_PLUGIN_SYMBOL(failing)

} // extern "C"
