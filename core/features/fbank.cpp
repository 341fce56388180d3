// SPDX-License-Identifier: MIT
#include "features/fbank.h"

#include "error.h"
#include "features/fbank_torch.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>

namespace astpeft::core {

namespace {

double melScale(double hz)
{
    return 1127.0 * std::log(1.0 + hz / 700.0);
}

// One triangular filter: weights for FFT bins [first, first + weights.size()).
struct MelFilter
{
    int first = 0;
    std::vector<float> weights;
};

// Kaldi's mel banks (torchaudio get_mel_banks without VTLN): filters equally spaced in
// mel(f) = 1127 ln(1 + f / 700) between lowFreq and highFreq, evaluated at the centre frequency
// of each of the fftSize/2 bins; the Nyquist bin gets weight 0.
std::vector<MelFilter> melFilters(const FbankOptions &o)
{
    const int numFftBins = o.fftSize() / 2;
    const double nyquist = 0.5 * o.sampleRate;
    const double high = o.highFreq <= 0.0 ? nyquist + o.highFreq : o.highFreq;
    if (o.lowFreq < 0.0 || high > nyquist || o.lowFreq >= high)
        throw Error(ErrorKind::Usage,
            "fbank: need 0 <= low_freq < high_freq <= Nyquist (" + std::to_string(o.lowFreq)
                + " Hz, " + std::to_string(high) + " Hz)");
    const double binWidth = double(o.sampleRate) / o.fftSize();
    const double melLow = melScale(o.lowFreq);
    const double melDelta = (melScale(high) - melLow) / (o.numMelBins + 1);
    std::vector<MelFilter> filters(std::size_t(o.numMelBins));
    for (int b = 0; b < o.numMelBins; ++b) {
        const double left = melLow + b * melDelta;
        const double centre = left + melDelta;
        const double right = centre + melDelta;
        MelFilter &f = filters[std::size_t(b)];
        f.first = -1;
        for (int k = 0; k < numFftBins; ++k) {
            const double mel = melScale(binWidth * k);
            const double up = (mel - left) / (centre - left);
            const double down = (right - mel) / (right - centre);
            const double w = std::max(0.0, std::min(up, down));
            if (w > 0.0) {
                if (f.first < 0)
                    f.first = k;
                f.weights.resize(std::size_t(k - f.first + 1), 0.0f);
                f.weights.back() = float(w);
            }
        }
        // Low filters can be narrower than one FFT bin (31.25 Hz at 16 kHz / 512) and then
        // cover no bin at all: their energy is 0 and the output the log floor, as in torchaudio.
        if (f.first < 0)
            f.first = 0;
    }
    return filters;
}

void checkOptions(const FbankOptions &o)
{
    if (o.sampleRate <= 0 || o.frameLength <= 1 || o.frameShift <= 0 || o.numMelBins <= 0)
        throw Error(ErrorKind::Usage,
            "fbank: sample rate, frame length, shift and mel bins must be positive");
}

} // namespace

int FbankOptions::fftSize() const
{
    int n = 1;
    while (n < frameLength)
        n *= 2;
    return n;
}

double fbankSeconds(std::int64_t frames, const FbankOptions &options)
{
    return double((frames - 1) * options.frameShift + options.frameLength) / options.sampleRate;
}

std::int64_t fbankFrameCount(std::int64_t numSamples, const FbankOptions &options)
{
    if (numSamples < options.frameLength)
        return 0;
    return 1 + (numSamples - options.frameLength) / options.frameShift;
}

struct FbankComputer::Private
{
    FbankOptions options;
    std::vector<float> window; // symmetric Hann, frameLength values
    std::vector<MelFilter> filters;
};

FbankComputer::FbankComputer(const FbankOptions &options)
    : d(std::make_unique<Private>())
{
    checkOptions(options);
    d->options = options;
    // torch's own Hann window (periodic=false), so that our window equals torchaudio's bit for bit.
    const torch::Tensor w = torch::hann_window(
        options.frameLength, /*periodic=*/false, torch::TensorOptions().dtype(torch::kFloat32));
    d->window.assign(w.data_ptr<float>(), w.data_ptr<float>() + options.frameLength);
    d->filters = melFilters(options);
}

FbankComputer::~FbankComputer() = default;
FbankComputer::FbankComputer(FbankComputer &&) noexcept = default;
FbankComputer &FbankComputer::operator=(FbankComputer &&) noexcept = default;

const FbankOptions &FbankComputer::options() const
{
    return d->options;
}

const std::vector<float> &FbankComputer::window() const
{
    return d->window;
}

std::vector<float> FbankComputer::melMatrix() const
{
    const int cols = d->options.fftSize() / 2 + 1;
    std::vector<float> m(std::size_t(d->options.numMelBins) * std::size_t(cols), 0.0f);
    for (int b = 0; b < d->options.numMelBins; ++b) {
        const MelFilter &f = d->filters[std::size_t(b)];
        std::copy(
            f.weights.begin(), f.weights.end(), m.begin() + std::ptrdiff_t(b) * cols + f.first);
    }
    return m;
}

FeatureMatrix FbankComputer::compute(std::span<const float> wave) const
{
    const std::int64_t frames = fbankFrameCount(std::int64_t(wave.size()), d->options);
    if (frames == 0)
        throw Error(ErrorKind::Usage,
            "audio is shorter than one analysis frame (" + std::to_string(d->options.frameLength)
                + " samples, 25 ms at 16 kHz): got " + std::to_string(wave.size()) + " samples");
    return computeFrames(wave, 0, frames);
}

FeatureMatrix FbankComputer::computeFrames(
    std::span<const float> wave, std::int64_t firstFrame, std::int64_t count) const
{
    const FbankOptions &o = d->options;
    const std::int64_t available = fbankFrameCount(std::int64_t(wave.size()), o);
    if (firstFrame < 0 || count < 0 || firstFrame + count > available)
        throw Error(ErrorKind::Usage,
            "fbank: frames [" + std::to_string(firstFrame) + ", "
                + std::to_string(firstFrame + count) + ") out of range; the audio has "
                + std::to_string(available) + " frames");
    const auto bad =
        std::find_if(wave.begin(), wave.end(), [](float x) { return !std::isfinite(x); });
    if (bad != wave.end())
        throw Error(ErrorKind::Usage,
            "audio contains a non-finite sample at index " + std::to_string(bad - wave.begin()));

    FeatureMatrix out;
    out.frames = count;
    out.bins = o.numMelBins;
    out.data.resize(std::size_t(count) * std::size_t(o.numMelBins));
    if (count == 0)
        return out;

    const int fft = o.fftSize();
    const int len = o.frameLength;
    const int numBins = fft / 2 + 1;
    const float pre = o.preemphasis;
    const float floor = o.logFloor;
    const float *window = d->window.data();
    const auto &filters = d->filters;
    float *dst = out.data.data();
    // Sequential, in chunks of kChunk frames whose frames and spectrum (2 x 64 KB at 512 points)
    // stay in the L2 cache. Deliberately single-threaded: torch's pocketfft rfft serialises
    // concurrent callers (measured: 2 threads were slower than 1, see bench/README.md), and one
    // core computes about 3,000 s of audio per second. Callers parallelise across clips.
    constexpr std::int64_t kChunk = 32;
    {
        for (std::int64_t begin = 0; begin < count; begin += kChunk) {
            const std::int64_t end = std::min(count, begin + kChunk);
            const std::int64_t rows = end - begin;
            // Stage 1: framing, DC removal, pre-emphasis, window, zero padding to fftSize.
            // Arithmetic in float32 in torchaudio's order, so that rounding matches closely.
            torch::Tensor frames = torch::empty({ rows, fft }, torch::kFloat32);
            float *frameData = frames.data_ptr<float>();
            for (std::int64_t f = 0; f < rows; ++f) {
                const float *x = wave.data() + (firstFrame + begin + f) * o.frameShift;
                float *y = frameData + f * fft;
                double sum = 0.0;
                for (int j = 0; j < len; ++j)
                    sum += x[j];
                const float mean = float(sum / len);
                float prev = x[0] - mean; // replicate padding: x[-1] = x[0]
                for (int j = 0; j < len; ++j) {
                    const float cur = x[j] - mean;
                    y[j] = (cur - pre * prev) * window[j];
                    prev = cur;
                }
                std::fill(y + len, y + fft, 0.0f);
            }

            // Stage 2: real FFT of every frame (pocketfft on CPU through torch).
            const torch::Tensor spectrum =
                torch::view_as_real(torch::fft::rfft(frames, fft, 1)).contiguous();
            const float *spec = spectrum.data_ptr<float>(); // [rows, fft/2 + 1, 2]

            // Stage 3: power spectrum, sparse mel filters, floor, log.
            std::vector<float> power(static_cast<std::size_t>(numBins));
            for (std::int64_t f = 0; f < rows; ++f) {
                const float *s = spec + f * numBins * 2;
                for (int k = 0; k < numBins; ++k)
                    power[std::size_t(k)] = s[2 * k] * s[2 * k] + s[2 * k + 1] * s[2 * k + 1];
                float *row = dst + (begin + f) * o.numMelBins;
                for (int b = 0; b < o.numMelBins; ++b) {
                    const MelFilter &filter = filters[std::size_t(b)];
                    const float *p = power.data() + filter.first;
                    float e = 0.0f;
                    for (std::size_t k = 0; k < filter.weights.size(); ++k)
                        e += filter.weights[k] * p[k];
                    row[b] = std::log(std::max(e, floor));
                }
            }
        }
    }
    return out;
}

FeatureMatrix computeFbank(std::span<const float> wave, const FbankOptions &options)
{
    const FbankOptions defaults;
    const bool isDefault = options.sampleRate == defaults.sampleRate
        && options.numMelBins == defaults.numMelBins && options.frameLength == defaults.frameLength
        && options.frameShift == defaults.frameShift && options.lowFreq == defaults.lowFreq
        && options.highFreq == defaults.highFreq && options.preemphasis == defaults.preemphasis
        && options.logFloor == defaults.logFloor;
    if (isDefault) {
        static const FbankComputer shared(defaults); // thread-safe: compute() is const
        return shared.compute(wave);
    }
    return FbankComputer(options).compute(wave);
}

void padOrTruncate(FeatureMatrix &features, std::int64_t maxLength, float padValue)
{
    if (maxLength <= 0)
        return;
    features.data.resize(std::size_t(maxLength) * std::size_t(features.bins), padValue);
    features.frames = maxLength;
}

void normalizeFeatures(FeatureMatrix &features, float mean, float std)
{
    if (!(std > 0.0f))
        throw Error(ErrorKind::Usage, "feature normalisation needs std > 0");
    const float scale = 1.0f / (2.0f * std);
    for (float &x : features.data)
        x = (x - mean) * scale;
}

FeatureMatrix extractFeatures(std::span<const float> wave, const FrontEnd &frontEnd)
{
    FeatureMatrix features = computeFbank(wave, frontEnd.fbank);
    padOrTruncate(features, frontEnd.maxLength);
    if (frontEnd.normalize)
        normalizeFeatures(features, frontEnd.mean, frontEnd.std);
    return features;
}

torch::Tensor fbankBatch(const torch::Tensor &waves, const FbankOptions &options)
{
    if (waves.dim() != 2 || waves.size(1) < options.frameLength)
        throw Error(ErrorKind::Usage, "fbankBatch: need [batch, samples] with at least one frame");
    const FbankComputer computer(options);
    const auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(waves.device());
    // from_blob does not copy: clone() before the vectors go out of scope.
    std::vector<float> windowValues = computer.window();
    std::vector<float> melValues = computer.melMatrix();
    const torch::Tensor window =
        torch::from_blob(windowValues.data(), { options.frameLength }, torch::kFloat32)
            .clone()
            .to(fopts);
    const int fft = options.fftSize();
    const torch::Tensor mel =
        torch::from_blob(melValues.data(), { options.numMelBins, fft / 2 + 1 }, torch::kFloat32)
            .clone()
            .to(fopts)
            .t();
    torch::Tensor frames =
        waves.to(torch::kFloat32).unfold(1, options.frameLength, options.frameShift);
    frames = frames - frames.mean(-1, true);
    const torch::Tensor previous =
        torch::cat({ frames.narrow(-1, 0, 1), frames.narrow(-1, 0, options.frameLength - 1) }, -1);
    frames = (frames - options.preemphasis * previous) * window;
    const torch::Tensor power =
        torch::view_as_real(torch::fft::rfft(frames, fft, -1)).pow(2).sum(-1);
    return torch::matmul(power, mel).clamp_min(options.logFloor).log();
}

torch::Tensor finishFeatures(const torch::Tensor &fbank, const FrontEnd &frontEnd)
{
    torch::Tensor x = fbank;
    const std::int64_t frames = x.size(1);
    if (frontEnd.maxLength > 0 && frames > frontEnd.maxLength) {
        x = x.narrow(1, 0, frontEnd.maxLength);
    } else if (frontEnd.maxLength > 0 && frames < frontEnd.maxLength) {
        x = torch::cat(
            { x, torch::zeros({ x.size(0), frontEnd.maxLength - frames, x.size(2) }, x.options()) },
            1);
    }
    if (frontEnd.normalize)
        x = (x - frontEnd.mean) / (2.0f * frontEnd.std);
    return x;
}

} // namespace astpeft::core
