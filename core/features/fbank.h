// SPDX-License-Identifier: MIT
// Kaldi-compatible log-mel filterbank, identical to torchaudio.compliance.kaldi.fbank as the
// Hugging Face ASTFeatureExtractor calls it, plus AST's pad/truncate and normalisation.
// Torch-free public header; the batched torch path is in fbank_torch.h (core-internal).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace astpeft::core {

struct FbankOptions
{
    int sampleRate = 16000; // Hz
    int numMelBins = 128;
    int frameLength = 400; // samples (25 ms at 16 kHz)
    int frameShift = 160; // samples (10 ms at 16 kHz)
    double lowFreq = 20.0; // Hz
    double highFreq = 0.0; // Hz; <= 0 means Nyquist + highFreq, as in Kaldi
    float preemphasis = 0.97f;
    float logFloor = 1.1920929e-07f; // float32 epsilon, Kaldi's floor before the log

    int fftSize() const; // frameLength rounded up to a power of two (512)
};

// Row-major [frames x bins] float32.
struct FeatureMatrix
{
    std::int64_t frames = 0;
    int bins = 0;
    std::vector<float> data;

    float at(std::int64_t frame, int bin) const { return data[std::size_t(frame * bins + bin)]; }
};

// The front end as AST applies it: fbank, pad (zeros, at the end) or truncate to maxLength
// frames, then (x - mean) / (2 * std).
struct FrontEnd
{
    FbankOptions fbank;
    int maxLength = 1024; // frames; 0 keeps every frame
    bool normalize = true;
    float mean = -4.2677393f;
    float std = 4.5689974f;
};

// snip_edges framing: 1 + (n - frameLength) / frameShift, or 0 when n < frameLength.
std::int64_t fbankFrameCount(std::int64_t numSamples, const FbankOptions &options);
// The seconds of audio that `frames` frames cover: (frames - 1) shifts and one frame.
double fbankSeconds(std::int64_t frames, const FbankOptions &options);

// Precomputes the window and the mel filters once; compute() is const and thread-safe.
// Frames are processed in parallel on the torch intra-op thread pool.
class FbankComputer
{
public:
    explicit FbankComputer(const FbankOptions &options = {});
    ~FbankComputer();
    FbankComputer(FbankComputer &&) noexcept;
    FbankComputer &operator=(FbankComputer &&) noexcept;

    const FbankOptions &options() const;
    // Throws core::Error(Usage) when the input is shorter than one frame or not finite.
    FeatureMatrix compute(std::span<const float> wave) const;
    // Frames [firstFrame, firstFrame + count) of `wave` only (streaming: the new frames).
    FeatureMatrix computeFrames(
        std::span<const float> wave, std::int64_t firstFrame, std::int64_t count) const;

    // The mel filterbank as a dense [numMelBins x (fftSize/2 + 1)] matrix (Nyquist column 0).
    std::vector<float> melMatrix() const;
    // The symmetric Hann window, frameLength values.
    const std::vector<float> &window() const;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

// Convenience: one-off fbank with default caching of the computer per options.
FeatureMatrix computeFbank(std::span<const float> wave, const FbankOptions &options = {});

void padOrTruncate(FeatureMatrix &features, std::int64_t maxLength, float padValue = 0.0f);
void normalizeFeatures(FeatureMatrix &features, float mean, float std);
// fbank, then padOrTruncate (when maxLength > 0), then normalise (when enabled).
FeatureMatrix extractFeatures(std::span<const float> wave, const FrontEnd &frontEnd);

} // namespace astpeft::core
