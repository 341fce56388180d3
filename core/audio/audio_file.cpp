// SPDX-License-Identifier: MIT
#include "audio/audio_file.h"

#include "error.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>
#include <new>
#include <string_view>
#include <system_error>

#include <samplerate.h>
#include <sndfile.h>

namespace astpeft::core {

namespace {

namespace fs = std::filesystem;

// SF_FORMAT_MPEG and SF_FORMAT_MPEG_LAYER_III exist from libsndfile 1.1 on. sndfile.h declares
// them as enumerators, which #ifdef cannot see, so their fixed ABI values are spelt here. With an
// older library, opening MP3 fails with sf_strerror's reason and writing it is rejected by
// sf_format_check().
constexpr int kFormatMpeg = 0x230000;
constexpr int kMpegLayer3 = 0x0082;

constexpr int kMaxChannels = 64;
constexpr std::int64_t kMaxSeconds = 24 * 3600; // longer headers are taken as corrupt
constexpr sf_count_t kReadChunkFrames = 16384;

struct SndFileCloser
{
    void operator()(SNDFILE *file) const { sf_close(file); }
};
using SndFilePtr = std::unique_ptr<SNDFILE, SndFileCloser>;

struct SrcStateDeleter
{
    void operator()(SRC_STATE *state) const { src_delete(state); }
};

int majorFormat(const SF_INFO &info)
{
    return info.format & SF_FORMAT_TYPEMASK;
}

std::string formatName(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
        return "WAV";
    case SF_FORMAT_AIFF:
        return "AIFF";
    case SF_FORMAT_AU:
        return "AU";
    case SF_FORMAT_RAW:
        return "RAW";
    case SF_FORMAT_PAF:
        return "PAF";
    case SF_FORMAT_SVX:
        return "SVX";
    case SF_FORMAT_NIST:
        return "NIST";
    case SF_FORMAT_VOC:
        return "VOC";
    case SF_FORMAT_IRCAM:
        return "IRCAM";
    case SF_FORMAT_W64:
        return "W64";
    case SF_FORMAT_MAT4:
        return "MAT4";
    case SF_FORMAT_MAT5:
        return "MAT5";
    case SF_FORMAT_PVF:
        return "PVF";
    case SF_FORMAT_XI:
        return "XI";
    case SF_FORMAT_HTK:
        return "HTK";
    case SF_FORMAT_SDS:
        return "SDS";
    case SF_FORMAT_AVR:
        return "AVR";
    case SF_FORMAT_WAVEX:
        return "WAVEX";
    case SF_FORMAT_SD2:
        return "SD2";
    case SF_FORMAT_FLAC:
        return "FLAC";
    case SF_FORMAT_CAF:
        return "CAF";
    case SF_FORMAT_WVE:
        return "WVE";
    case SF_FORMAT_OGG:
        return "OGG";
    case SF_FORMAT_MPC2K:
        return "MPC2K";
    case SF_FORMAT_RF64:
        return "RF64";
    case kFormatMpeg:
        return "MPEG";
    default: {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "0x%06x", unsigned(format & SF_FORMAT_TYPEMASK));
        return buffer;
    }
    }
}

// Lossy streams whose frame count in SF_INFO is an estimate (MP3 without an exact Xing/LAME
// count, Ogg from the last page's granule): decoding reads until the decoder stops instead.
bool lengthIsEstimate(const SF_INFO &info)
{
    const int major = majorFormat(info);
    return major == SF_FORMAT_OGG || major == kFormatMpeg;
}

// Bytes per frame of uncompressed subtypes; 0 where it is not a constant.
std::int64_t bytesPerFrame(const SF_INFO &info)
{
    std::int64_t width = 0;
    switch (info.format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_ULAW:
    case SF_FORMAT_ALAW:
        width = 1;
        break;
    case SF_FORMAT_PCM_16:
        width = 2;
        break;
    case SF_FORMAT_PCM_24:
        width = 3;
        break;
    case SF_FORMAT_PCM_32:
    case SF_FORMAT_FLOAT:
        width = 4;
        break;
    case SF_FORMAT_DOUBLE:
        width = 8;
        break;
    default:
        break;
    }
    return width * info.channels;
}

// libsndfile silently shortens a data chunk that claims more bytes than the file holds (WAV,
// AIFF, AU, W64) and only says so in its log, as "data : 32000 (should be 16000)". Returns the
// frame count the header claimed when the log shows such a correction, otherwise -1.
std::int64_t claimedFramesIfTruncated(SNDFILE *file, const SF_INFO &info)
{
    std::string log(16384, '\0');
    sf_command(file, SFC_GET_LOG_INFO, log.data(), int(log.size()));
    if (const std::size_t nul = log.find('\0'); nul != std::string::npos)
        log.resize(nul);

    const bool isW64 = majorFormat(info) == SF_FORMAT_W64;
    std::size_t start = 0;
    while (start < log.size()) {
        std::size_t end = log.find('\n', start);
        if (end == std::string::npos)
            end = log.size();
        std::string_view line(log.data() + start, end - start);
        start = end + 1;
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
            line.remove_prefix(1);
        // W64 only logs the outer "riff" size; its "data" line is never corrected. WAV's "RIFF"
        // line is not used: writers often get it wrong while the data chunk is intact.
        const bool dataLine = line.starts_with("data ") || line.starts_with("SSND ")
            || line.starts_with("Data Size ") || (isW64 && line.starts_with("riff "));
        if (!dataLine)
            continue;
        const std::string text(line);
        const std::size_t colon = text.find(':');
        long long claimed = 0;
        long long present = 0;
        if (colon == std::string::npos
            || std::sscanf(text.c_str() + colon + 1, " %lld (should be %lld)", &claimed, &present)
                != 2)
            continue;
        // 0xFFFFFFFF is what streaming writers leave when the length is unknown.
        if (claimed <= present || claimed == 0xFFFFFFFFLL)
            continue;
        // The bytes missing from the file, in frames, on top of those present. Both sizes count
        // the same header bytes (W64's riff size, AIFF's SSND offset field), so they cancel.
        const std::int64_t frameBytes = bytesPerFrame(info);
        if (frameBytes > 0)
            return info.frames + (claimed - present) / frameBytes;
        // Compressed subtypes (ADPCM, GSM): scale the frame count by the byte ratio instead.
        return present > 0 ? std::int64_t(double(info.frames) * double(claimed) / double(present))
                           : info.frames + 1;
    }
    return -1;
}

std::string lowerExtension(const fs::path &path)
{
    std::string ext = path.extension().string();
    std::transform(
        ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext;
}

struct OpenedFile
{
    SndFilePtr file;
    SF_INFO info {};
};

// Opens for reading and checks the header: throws core::Error for every way a file can be unfit.
OpenedFile openChecked(const fs::path &path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found)
        throw Error(ErrorKind::Io, "no such file", path);
    if (ec)
        throw Error(ErrorKind::Io, "cannot access: " + ec.message(), path);
    if (fs::is_directory(status))
        throw Error(ErrorKind::Io, "is a directory, not an audio file", path);
    if (!fs::is_regular_file(status))
        throw Error(ErrorKind::Io, "not a regular file", path);
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec)
        throw Error(ErrorKind::Io, "cannot read file size: " + ec.message(), path);
    if (size == 0)
        throw Error(ErrorKind::Format, "empty file", path);

    OpenedFile opened;
    // sf_open(nullptr)'s error state is a process-wide global in libsndfile; with concurrent
    // failing opens the reason may come from another thread, the failure itself is reliable.
    opened.file.reset(sf_open(path.c_str(), SFM_READ, &opened.info));
    if (!opened.file) {
        const int code = sf_error(nullptr);
        const std::string reason = sf_strerror(nullptr);
        // The file was just found to be a regular file: libsndfile's "File does not exist or is
        // not a regular file (possibly a pipe?)" then means that its decoder gave up on the
        // content, as mpg123 does on an MP3 cut before its first whole frame.
        if (reason.find("not a regular file") != std::string::npos) {
            throw Error(ErrorKind::Format,
                lowerExtension(path) == ".mp3"
                    ? "truncated or corrupt MP3 (no complete frame could be decoded)"
                    : "truncated or corrupt file (the decoder could not open it)",
                path);
        }
        throw Error(code == SF_ERR_SYSTEM ? ErrorKind::Io : ErrorKind::Format,
            "cannot read audio: " + reason, path);
    }

    const SF_INFO &info = opened.info;
    if (info.samplerate < kMinSampleRate || info.samplerate > kMaxSampleRate) {
        throw Error(ErrorKind::Format,
            "unsupported sample rate " + std::to_string(info.samplerate) + " Hz (accepted: "
                + std::to_string(kMinSampleRate) + " to " + std::to_string(kMaxSampleRate) + " Hz)",
            path);
    }
    if (info.channels < 1 || info.channels > kMaxChannels) {
        throw Error(ErrorKind::Format,
            "unsupported channel count " + std::to_string(info.channels) + " (accepted: 1 to "
                + std::to_string(kMaxChannels) + ")",
            path);
    }
    // An estimated length (MP3, Ogg) is no header field and may be anything for a damaged
    // stream; decodeAudio reads such streams to their end and checks what it got.
    if (lengthIsEstimate(info))
        return opened;
    if (info.frames <= 0)
        throw Error(ErrorKind::Format, "no samples", path);
    if (info.frames > kMaxSeconds * info.samplerate) {
        throw Error(ErrorKind::Format,
            "absurd header: " + std::to_string(info.frames)
                + " frames is more than 24 hours of audio",
            path);
    }
    const std::int64_t claimed = claimedFramesIfTruncated(opened.file.get(), info);
    if (claimed >= 0) {
        throw Error(ErrorKind::Format,
            "truncated: header says " + std::to_string(claimed) + " frames, read "
                + std::to_string(info.frames),
            path);
    }
    return opened;
}

AudioInfo toAudioInfo(const SF_INFO &info)
{
    AudioInfo result;
    result.sampleRate = info.samplerate;
    result.channels = info.channels;
    result.frames = info.frames;
    result.format = formatName(info.format);
    return result;
}

} // namespace

AudioInfo probeAudio(const std::filesystem::path &path)
{
    const OpenedFile opened = openChecked(path);
    const SF_INFO &info = opened.info;
    // openChecked() lets estimated lengths through for decodeAudio to find the real one; a
    // probe has only the estimate, and one that is missing or absurd is reported.
    if (lengthIsEstimate(info) && (info.frames <= 0 || info.frames > kMaxSeconds * info.samplerate))
        throw Error(ErrorKind::Format, "length unknown (cut or damaged stream?)", path);
    return toAudioInfo(info);
}

Audio decodeAudio(const std::filesystem::path &path, const DecodeOptions &options)
{
    if (options.targetRate <= 0) {
        throw Error(ErrorKind::Usage,
            "invalid target sample rate " + std::to_string(options.targetRate) + " Hz", path);
    }
    if (options.channel < -1) {
        throw Error(
            ErrorKind::Usage, "invalid channel index " + std::to_string(options.channel), path);
    }

    OpenedFile opened = openChecked(path);
    SNDFILE *file = opened.file.get();
    const SF_INFO &info = opened.info;
    const int channels = info.channels;
    if (options.channel >= channels) {
        throw Error(ErrorKind::Usage,
            "channel " + std::to_string(options.channel) + " requested, the file has "
                + std::to_string(channels) + " channel" + (channels == 1 ? "" : "s"),
            path);
    }
    if (!src_is_valid_ratio(double(options.targetRate) / info.samplerate)) {
        throw Error(ErrorKind::Usage,
            "cannot resample " + std::to_string(info.samplerate) + " Hz to "
                + std::to_string(options.targetRate) + " Hz",
            path);
    }

    // Integer PCM maps to [-1, 1) by x / 2^(bits-1): int16 x becomes exactly x / 32768.0f, as
    // Python soundfile reads it. This is libsndfile's default; set it in case that ever changes.
    sf_command(file, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);

    const bool estimate = lengthIsEstimate(info);
    // Reading stops at the header's count for exact formats and at the decoder's end for
    // estimated ones, but never past 24 hours of audio.
    std::int64_t limit = estimate ? kMaxSeconds * info.samplerate : info.frames;
    const bool capped =
        options.maxSeconds > 0 && options.maxSeconds * info.samplerate < double(limit);
    if (capped)
        limit = std::int64_t(std::ceil(options.maxSeconds * info.samplerate));

    Audio audio;
    audio.source = toAudioInfo(info);
    audio.sampleRate = options.targetRate;
    std::vector<float> mono;
    try {
        // An estimate may be SF_COUNT_MAX (a cut Ogg stream): reserve only plausible lengths,
        // and no more frames than the file has bytes (uncompressed audio has at least a byte a
        // frame; compressed audio grows the vector as it decodes): a 43-byte FLAC claiming
        // hours of audio reserved gigabytes before reading a frame (found by fuzz_audio).
        std::error_code ec;
        const std::uintmax_t bytes = fs::file_size(path, ec);
        if (info.frames > 0 && info.frames <= limit && !ec)
            mono.reserve(std::size_t(std::min<std::uintmax_t>(std::uintmax_t(info.frames), bytes)));
        std::vector<float> buffer(std::size_t(kReadChunkFrames) * std::size_t(channels));
        std::int64_t read = 0;
        while (read < limit) {
            const sf_count_t want = std::min<std::int64_t>(kReadChunkFrames, limit - read);
            const sf_count_t got = sf_readf_float(file, buffer.data(), want);
            if (got <= 0)
                break;
            const std::size_t values = std::size_t(got) * std::size_t(channels);
            for (std::size_t i = 0; i < values; ++i) {
                if (!std::isfinite(buffer[i])) {
                    throw Error(ErrorKind::Format,
                        std::string("non-finite sample (") + (std::isnan(buffer[i]) ? "NaN" : "Inf")
                            + ") at frame " + std::to_string(read + std::int64_t(i) / channels)
                            + ", channel " + std::to_string(i % std::size_t(channels)),
                        path);
                }
            }
            if (channels == 1) {
                mono.insert(mono.end(), buffer.begin(), buffer.begin() + std::ptrdiff_t(values));
            } else if (options.channel >= 0) {
                for (sf_count_t f = 0; f < got; ++f) {
                    mono.push_back(
                        buffer[std::size_t(f) * channels + std::size_t(options.channel)]);
                }
            } else {
                for (sf_count_t f = 0; f < got; ++f) {
                    const float *frame = buffer.data() + std::size_t(f) * channels;
                    float sum = 0.0f;
                    for (int c = 0; c < channels; ++c)
                        sum += frame[c];
                    mono.push_back(sum / float(channels));
                }
            }
            read += got;
        }
        if (sf_error(file) != SF_ERR_NO_ERROR) {
            throw Error(
                ErrorKind::Format, std::string("decoding failed: ") + sf_strerror(file), path);
        }
        if (read == 0) {
            throw Error(ErrorKind::Format,
                estimate ? "no samples could be decoded (cut or damaged stream?)"
                         : "no samples could be decoded",
                path);
        }
        if (!estimate && read < limit) {
            throw Error(ErrorKind::Format,
                "truncated: header says " + std::to_string(info.frames) + " frames, read "
                    + std::to_string(read),
                path);
        }
        if (estimate && !capped && read == limit && sf_readf_float(file, buffer.data(), 1) > 0)
            throw Error(ErrorKind::Format, "more than 24 hours of audio", path);
        // For MP3 and Ogg the decoded count replaces the estimate (unless reading stopped early).
        if (estimate && !capped)
            audio.source.frames = read;
        opened.file.reset();
        if (info.samplerate == options.targetRate) {
            audio.samples = std::move(mono);
        } else {
            audio.samples = resample(mono, info.samplerate, options.targetRate);
        }
    } catch (const std::bad_alloc &) {
        throw Error(ErrorKind::Unsupported, "too long to decode in memory", path);
    }
    return audio;
}

std::vector<float> resample(std::span<const float> input, int fromRate, int toRate)
{
    if (fromRate <= 0 || toRate <= 0) {
        throw Error(ErrorKind::Usage,
            "invalid sample rates " + std::to_string(fromRate) + " -> " + std::to_string(toRate)
                + " Hz");
    }
    if (fromRate == toRate)
        return std::vector<float>(input.begin(), input.end());
    const double ratio = double(toRate) / double(fromRate);
    if (!src_is_valid_ratio(ratio)) {
        throw Error(ErrorKind::Usage,
            "cannot resample " + std::to_string(fromRate) + " Hz to " + std::to_string(toRate)
                + " Hz");
    }

    // The output has exactly round(n * to / from) samples. libsamplerate's own flush stops up
    // to one sample short of that, so a few zeros (the silence the flush assumes anyway) follow
    // the input and the surplus is cut off.
    const std::int64_t n = std::int64_t(input.size());
    const std::int64_t expected = (n * toRate + fromRate / 2) / fromRate;
    if (expected == 0)
        return {};

    int error = 0;
    std::unique_ptr<SRC_STATE, SrcStateDeleter> state(src_new(SRC_SINC_BEST_QUALITY, 1, &error));
    if (!state)
        throw Error(ErrorKind::Internal, std::string("libsamplerate: ") + src_strerror(error));

    constexpr long kChunkFrames = 1 << 16;
    std::vector<float> output;
    output.reserve(std::size_t(expected) + 1);
    std::vector<float> chunkOut(std::size_t(double(kChunkFrames) * ratio) + 1024);
    const std::vector<float> padding(std::size_t(std::ceil(2.0 / ratio)) + 2, 0.0f);

    auto feed = [&](const float *data, std::int64_t count, bool last) {
        SRC_DATA d {};
        d.src_ratio = ratio;
        for (;;) {
            d.data_in = data;
            d.input_frames = long(std::min<std::int64_t>(count, kChunkFrames));
            d.data_out = chunkOut.data();
            d.output_frames = long(chunkOut.size());
            // The end_of_input flag is only honoured with the final piece of input.
            d.end_of_input = (last && count <= kChunkFrames) ? 1 : 0;
            if (const int e = src_process(state.get(), &d))
                throw Error(ErrorKind::Internal, std::string("libsamplerate: ") + src_strerror(e));
            output.insert(output.end(), chunkOut.begin(),
                chunkOut.begin() + std::ptrdiff_t(d.output_frames_gen));
            data += d.input_frames_used;
            count -= d.input_frames_used;
            if (d.input_frames_used == 0 && d.output_frames_gen == 0)
                break; // all consumed and, at the end, fully flushed
            if (count == 0 && !last)
                break;
        }
    };
    feed(input.data(), n, false);
    feed(padding.data(), std::int64_t(padding.size()), true);

    // Too short only if libsamplerate misbehaves; pad rather than return a wrong length.
    output.resize(std::size_t(expected), 0.0f);
    return output;
}

void writeAudio(const std::filesystem::path &path, std::span<const float> interleaved,
    int sampleRate, int channels, const std::string &subtype)
{
    if (sampleRate <= 0) {
        throw Error(
            ErrorKind::Usage, "invalid sample rate " + std::to_string(sampleRate) + " Hz", path);
    }
    if (channels < 1 || channels > kMaxChannels)
        throw Error(ErrorKind::Usage, "invalid channel count " + std::to_string(channels), path);
    if (interleaved.size() % std::size_t(channels) != 0) {
        throw Error(ErrorKind::Usage,
            std::to_string(interleaved.size()) + " samples do not divide into "
                + std::to_string(channels) + " channels",
            path);
    }

    const std::string ext = lowerExtension(path);
    // 0 for the float-written codecs; else the PCM width that writeAudio quantises to itself.
    int pcmBits = 0;
    int format = 0;
    if (ext == ".wav" || ext == ".flac") {
        format = ext == ".wav" ? SF_FORMAT_WAV : SF_FORMAT_FLAC;
        if (subtype == "PCM_16" || (ext == ".flac" && subtype == "FLAC")) {
            format |= SF_FORMAT_PCM_16;
            pcmBits = 16;
        } else if (subtype == "PCM_24") {
            format |= SF_FORMAT_PCM_24;
            pcmBits = 24;
        } else if (subtype == "FLOAT" && ext == ".wav") {
            format |= SF_FORMAT_FLOAT;
        } else {
            throw Error(
                ErrorKind::Usage, "subtype " + subtype + " is not supported for " + ext, path);
        }
    } else if (ext == ".ogg") {
        format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    } else if (ext == ".mp3") {
        format = kFormatMpeg | kMpegLayer3;
    } else {
        throw Error(ErrorKind::Usage,
            "cannot tell the audio format from the extension '" + ext
                + "' (use .wav, .flac, .ogg or .mp3)",
            path);
    }

    SF_INFO info {};
    info.samplerate = sampleRate;
    info.channels = channels;
    info.format = format;
    if (!sf_format_check(&info)) {
        throw Error(ErrorKind::Unsupported,
            "libsndfile cannot write this format with " + std::to_string(channels) + " channels at "
                + std::to_string(sampleRate) + " Hz",
            path);
    }

    // PCM is quantised here as round(x * 2^(bits-1)), clamped, the exact inverse of reading
    // (x / 2^(bits-1)); libsndfile's own float writer scales by 2^(bits-1) - 1 instead.
    std::vector<int> quantised;
    if (pcmBits > 0) {
        const double scale = std::ldexp(1.0, pcmBits - 1);
        quantised.resize(interleaved.size());
        for (std::size_t i = 0; i < interleaved.size(); ++i) {
            const float x = interleaved[i];
            if (!std::isfinite(x)) {
                throw Error(ErrorKind::Usage,
                    "non-finite sample at index " + std::to_string(i) + " cannot be written as PCM",
                    path);
            }
            const double q = std::clamp(std::nearbyint(double(x) * scale), -scale, scale - 1.0);
            // libsndfile's int writers keep the top bits of each 32-bit value.
            quantised[i] = int(q) * (1 << (32 - pcmBits));
        }
    }

    SndFilePtr file(sf_open(path.c_str(), SFM_WRITE, &info));
    if (!file) {
        throw Error(
            ErrorKind::Io, std::string("cannot write audio: ") + sf_strerror(nullptr), path);
    }
    const sf_count_t frames = sf_count_t(interleaved.size()) / channels;
    const sf_count_t written = pcmBits > 0
        ? sf_writef_int(file.get(), quantised.data(), frames)
        : sf_writef_float(file.get(), interleaved.data(), frames);
    std::string failure;
    if (written != frames)
        failure = std::string("write failed: ") + sf_strerror(file.get());
    const int closeError = sf_close(file.release());
    if (failure.empty() && closeError != 0)
        failure = std::string("closing failed: ") + sf_error_number(closeError);
    if (!failure.empty()) {
        std::error_code ec;
        fs::remove(path, ec); // a partial file is worse than none
        throw Error(ErrorKind::Io, failure, path);
    }
}

} // namespace astpeft::core
