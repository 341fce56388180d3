// SPDX-License-Identifier: MIT
#include "method_fields.h"
#include "train/train_flags.h"

#include <QtGlobal>

#include <algorithm>
#include <climits>

/* TRANSLATOR astpeft::ui::MethodView */

namespace astpeft::ui {

namespace {

using core::AugmentOptions;
using core::PeftConfig;
using core::TrainOptions;
using Kind = FieldKind;

// The box holds an int: larger seeds (rare; the CLI takes 64 bits) are clamped. As the CLI
// does, one seed serves the split and the run.
FieldAccess<TrainOptions> seedAccess()
{
    return { [](const TrainOptions &o) { return double(std::min<std::uint64_t>(o.seed, INT_MAX)); },
        [](TrainOptions &o, double v) {
            o.seed = std::uint64_t(v);
            o.split.seed = o.seed;
        } };
}

template<typename T>
std::vector<T> concatenated(std::initializer_list<const std::vector<T> *> tables)
{
    std::vector<T> all;
    for (const std::vector<T> *table : tables)
        all.insert(all.end(), table->begin(), table->end());
    return all;
}

} // namespace

const std::vector<TrainField> &hyperParameterFields()
{
    static const std::vector<TrainField> fields = {
        { { .kind = Kind::Int,
              .name = "epochs",
              .title = QT_TR_NOOP("Epochs"),
              .accessibleName = QT_TR_NOOP("Epochs"),
              .tooltip = QT_TR_NOOP("Passes over the training split (default 10)."),
              .minimum = core::kEpochsRange.min,
              .maximum = core::kEpochsRange.max },
            member(&TrainOptions::epochs) },
        { { .kind = Kind::Int,
              .name = "batchSize",
              .title = QT_TR_NOOP("Batch size"),
              .accessibleName = QT_TR_NOOP("Batch size"),
              .tooltip = QT_TR_NOOP("Clips per batch (the paper: 8). Memory grows with it."),
              .minimum = core::kBatchSizeRange.min,
              .maximum = core::kBatchSizeRange.max },
            member(&TrainOptions::batchSize) },
        { { .kind = Kind::Scientific,
              .name = "learningRate",
              .title = QT_TR_NOOP("Learning rate"),
              .accessibleName = QT_TR_NOOP("Learning rate"),
              .tooltip = QT_TR_NOOP("AdamW learning rate with a cosine schedule; at its lowest it "
                                    "is the paper's rate for the method.") },
            member(&TrainOptions::learningRate) },
        { { .kind = Kind::Double,
              .name = "weightDecay",
              .title = QT_TR_NOOP("Weight decay"),
              .accessibleName = QT_TR_NOOP("Weight decay"),
              .tooltip =
                  QT_TR_NOOP("AdamW weight decay on every trainable tensor (the paper: 0.1)."),
              .minimum = 0,
              .maximum = 10,
              .step = 0.01,
              .decimals = 4 },
            member(&TrainOptions::weightDecay) },
        { { .kind = Kind::Int,
              .name = "warmupSteps",
              .title = QT_TR_NOOP("Warm-up steps"),
              .accessibleName = QT_TR_NOOP("Warm-up steps"),
              .tooltip =
                  QT_TR_NOOP("Optimizer steps of linear warm-up before the cosine decay; 0: none."),
              .minimum = core::kWarmupRange.min,
              .maximum = core::kWarmupRange.max,
              .step = 10 },
            member(&TrainOptions::warmupSteps) },
        { { .kind = Kind::Double,
              .name = "clipGradNorm",
              .title = QT_TR_NOOP("Gradient clipping"),
              .accessibleName = QT_TR_NOOP("Gradient clipping"),
              .tooltip =
                  QT_TR_NOOP("Clip the global L2 norm of the gradients to this value; off at 0."),
              .minimum = 0,
              .maximum = 1000,
              .step = 0.5,
              .decimals = 2,
              .special = QT_TR_NOOP("off") },
            member(&TrainOptions::clipGradNorm) },
        { { .kind = Kind::Int,
              .name = "accumulation",
              .title = QT_TR_NOOP("Accumulation"),
              .accessibleName = QT_TR_NOOP("Gradient accumulation"),
              .tooltip = QT_TR_NOOP(
                  "Batches per optimizer step: a larger effective batch at the memory of one."),
              .minimum = core::kAccumulationRange.min,
              .maximum = core::kAccumulationRange.max },
            member(&TrainOptions::accumulation) },
        { { .kind = Kind::Int,
              .name = "patience",
              .title = QT_TR_NOOP("Patience"),
              .accessibleName = QT_TR_NOOP("Early-stopping patience"),
              .tooltip = QT_TR_NOOP("Stop after this many epochs without a better validation "
                                    "result; off at 0."),
              .minimum = core::kPatienceRange.min,
              .maximum = core::kPatienceRange.max,
              .special = QT_TR_NOOP("off") },
            member(&TrainOptions::patience) },
        { { .kind = Kind::Int,
              .name = "maxLength",
              .title = QT_TR_NOOP("Max length"),
              .accessibleName = QT_TR_NOOP("Maximum input length"),
              .tooltip = QT_TR_NOOP("Input frames (10 ms each). Automatic: the longest training "
                                    "clip rounded up to 10 frames (1 s: 100), at most the "
                                    "backbone's; the estimates then assume the backbone's "
                                    "length."),
              .minimum = core::kMaxLengthRange.min,
              .maximum = core::kMaxLengthRange.max,
              .step = 10,
              .special = QT_TR_NOOP("automatic"),
              .suffix = QT_TR_NOOP(" frames") },
            member(&TrainOptions::maxLength) },
        { { .kind = Kind::Int,
              .name = "seed",
              .title = QT_TR_NOOP("Seed"),
              .accessibleName = QT_TR_NOOP("Seed"),
              .tooltip = QT_TR_NOOP("Seeds the split, shuffling, augmentation and "
                                    "initialisation: the same seed reproduces a CPU run bit for "
                                    "bit."),
              .minimum = 0,
              .maximum = INT_MAX },
            seedAccess() },
    };
    return fields;
}

const std::vector<TrainField> &augmentationFields()
{
    static const std::vector<TrainField> fields = {
        { { .kind = Kind::Int,
              .name = "freqMask",
              .title = QT_TR_NOOP("Frequency masks"),
              .accessibleName = QT_TR_NOOP("SpecAugment frequency-mask width"),
              .tooltip = QT_TR_NOOP("Largest frequency mask, in mel bins (the paper's ESC-50 and "
                                    "UrbanSound8K runs: 24); off at 0."),
              .minimum = 0,
              .maximum = 128,
              .special = QT_TR_NOOP("off"),
              .suffix = QT_TR_NOOP(" bins") },
            member(&TrainOptions::augment, &AugmentOptions::freqMaskParam) },
        { { .kind = Kind::Int,
              .name = "freqMasks",
              .accessibleName = QT_TR_NOOP("Frequency masks per clip"),
              .tooltip = QT_TR_NOOP("How many frequency masks each clip gets."),
              .minimum = 1,
              .maximum = 10,
              .joiner = "×" },
            member(&TrainOptions::augment, &AugmentOptions::freqMasks) },
        { { .kind = Kind::Int,
              .name = "timeMask",
              .title = QT_TR_NOOP("Time masks"),
              .accessibleName = QT_TR_NOOP("SpecAugment time-mask width"),
              .tooltip = QT_TR_NOOP("Largest time mask, in frames (the paper's ESC-50 and "
                                    "UrbanSound8K runs: 80); off at 0."),
              .minimum = 0,
              .maximum = 2048,
              .special = QT_TR_NOOP("off"),
              .suffix = QT_TR_NOOP(" frames") },
            member(&TrainOptions::augment, &AugmentOptions::timeMaskParam) },
        { { .kind = Kind::Int,
              .name = "timeMasks",
              .accessibleName = QT_TR_NOOP("Time masks per clip"),
              .tooltip = QT_TR_NOOP("How many time masks each clip gets."),
              .minimum = 1,
              .maximum = 10,
              .joiner = "×" },
            member(&TrainOptions::augment, &AugmentOptions::timeMasks) },
        { { .kind = Kind::Double,
              .name = "mixup",
              .title = QT_TR_NOOP("Mixup"),
              .accessibleName = QT_TR_NOOP("Mixup alpha"),
              .tooltip = QT_TR_NOOP("Mix pairs of clips and their labels with a Beta(alpha, "
                                    "alpha) weight; off at 0."),
              .minimum = 0,
              .maximum = 10,
              .step = 0.1,
              .decimals = 2,
              .special = QT_TR_NOOP("off") },
            member(&TrainOptions::augment, &AugmentOptions::mixupAlpha) },
        { { .kind = Kind::Double,
              .name = "mixupProbability",
              .accessibleName = QT_TR_NOOP("Mixup probability"),
              .tooltip = QT_TR_NOOP("The chance that a batch is mixed."),
              .minimum = 0,
              .maximum = 1,
              .step = 0.1,
              .decimals = 2,
              .joiner = QT_TR_NOOP("probability") },
            member(&TrainOptions::augment, &AugmentOptions::mixupProbability) },
        { { .kind = Kind::Double,
              .name = "noise",
              .title = QT_TR_NOOP("Noise mixing"),
              .accessibleName = QT_TR_NOOP("Noise mixing probability"),
              .tooltip = QT_TR_NOOP("The chance that a clip gets background noise from the "
                                    "dataset's noise files (_background_noise_); off at 0."),
              .minimum = 0,
              .maximum = 1,
              .step = 0.1,
              .decimals = 2,
              .special = QT_TR_NOOP("off") },
            member(&TrainOptions::augment, &AugmentOptions::noiseProbability) },
        { { .kind = Kind::Double,
              .name = "snrMin",
              .accessibleName = QT_TR_NOOP("Lowest noise SNR"),
              .tooltip = QT_TR_NOOP("Lowest signal-to-noise ratio."),
              .minimum = -20,
              .maximum = 60,
              .step = 1,
              .decimals = 1,
              .suffix = QT_TR_NOOP(" dB"),
              .joiner = QT_TR_NOOP("SNR") },
            member(&TrainOptions::augment, &AugmentOptions::noiseSnrMin) },
        { { .kind = Kind::Double,
              .name = "snrMax",
              .accessibleName = QT_TR_NOOP("Highest noise SNR"),
              .tooltip = QT_TR_NOOP("Highest signal-to-noise ratio."),
              .minimum = -20,
              .maximum = 60,
              .step = 1,
              .decimals = 1,
              .suffix = QT_TR_NOOP(" dB"),
              .joiner = "–" },
            member(&TrainOptions::augment, &AugmentOptions::noiseSnrMax) },
        { { .kind = Kind::Double,
              .name = "shift",
              .title = QT_TR_NOOP("Time shift"),
              .accessibleName = QT_TR_NOOP("Time shift"),
              .tooltip =
                  QT_TR_NOOP("Largest circular shift of the waveform, either direction; off at 0."),
              .minimum = 0,
              .maximum = 10,
              .step = 0.05,
              .decimals = 2,
              .special = QT_TR_NOOP("off"),
              .suffix = QT_TR_NOOP(" s") },
            member(&TrainOptions::augment, &AugmentOptions::shiftSeconds) },
        { { .kind = Kind::Double,
              .name = "gain",
              .title = QT_TR_NOOP("Gain"),
              .accessibleName = QT_TR_NOOP("Random gain"),
              .tooltip = QT_TR_NOOP("Largest random gain, up or down, in dB; off at 0."),
              .minimum = 0,
              .maximum = 40,
              .step = 1,
              .decimals = 1,
              .special = QT_TR_NOOP("off"),
              .suffix = QT_TR_NOOP(" dB") },
            member(&TrainOptions::augment, &AugmentOptions::gainDb) },
        { { .kind = Kind::Check,
              .name = "checkpointActivations",
              .title = QT_TR_NOOP("Activation checkpointing"),
              .accessibleName = QT_TR_NOOP("Activation checkpointing"),
              .tooltip = QT_TR_NOOP("Same results, less memory: each layer keeps only its input "
                                    "and is recomputed in the backward pass, about a third "
                                    "slower.") },
            member(&TrainOptions::checkpointActivations) },
    };
    return fields;
}

std::vector<TrainField> trainFields()
{
    return concatenated({ &hyperParameterFields(), &augmentationFields() });
}

const std::vector<KnobField> &loraKnobFields()
{
    static const std::vector<KnobField> fields = {
        { { .kind = Kind::Int,
              .name = "rank",
              .title = QT_TR_NOOP("Rank"),
              .accessibleName = QT_TR_NOOP("LoRA rank"),
              .tooltip = QT_TR_NOOP("Rank r of each low-rank update B·A (2·r·hidden parameters "
                                    "per target and layer)."),
              .minimum = 1,
              .maximum = 768 },
            member(&PeftConfig::lora, &core::LoraKnobs::rank) },
        { { .kind = Kind::Double,
              .name = "alpha",
              .title = QT_TR_NOOP("Alpha"),
              .accessibleName = QT_TR_NOOP("LoRA alpha"),
              .tooltip = QT_TR_NOOP("Scaling of the update: alpha / rank (the paper: 16). Changes "
                                    "no parameter count."),
              .minimum = 0,
              .maximum = 1024,
              .step = 1,
              .decimals = 2 },
            member(&PeftConfig::lora, &core::LoraKnobs::alpha) },
    };
    return fields;
}

const std::vector<KnobField> &adapterKnobFields()
{
    using core::AdapterKnobs;
    static const std::vector<KnobField> fields = {
        { { .kind = Kind::Combo,
              .name = "block",
              .title = QT_TR_NOOP("Block"),
              .accessibleName = QT_TR_NOOP("Adapter block"),
              .tooltip = QT_TR_NOOP("Bottleneck: Linear down, activation, Linear up. Conformer: "
                                    "LayerNorm, pointwise convolution, GLU, depthwise "
                                    "convolution, BatchNorm, pointwise convolution (the paper's "
                                    "best)."),
              .choices = { { QT_TR_NOOP("Bottleneck"), int(core::AdapterBlock::Bottleneck) },
                  { QT_TR_NOOP("Conformer"), int(core::AdapterBlock::Conformer) } } },
            member(&PeftConfig::adapter, &AdapterKnobs::block) },
        { { .kind = Kind::Combo,
              .name = "placement",
              .title = QT_TR_NOOP("Placement"),
              .accessibleName = QT_TR_NOOP("Adapter placement"),
              .tooltip = QT_TR_NOOP("Pfeiffer: one adapter per layer beside the feed-forward "
                                    "block. Houlsby: one beside the attention block too (twice "
                                    "the parameters)."),
              .choices = { { QT_TR_NOOP("Pfeiffer (FFN only)"),
                               int(core::AdapterPlacement::Pfeiffer) },
                  { QT_TR_NOOP("Houlsby (MHSA and FFN)"),
                      int(core::AdapterPlacement::Houlsby) } } },
            member(&PeftConfig::adapter, &AdapterKnobs::placement) },
        { { .kind = Kind::Combo,
              .name = "mode",
              .title = QT_TR_NOOP("Mode"),
              .accessibleName = QT_TR_NOOP("Adapter mode"),
              .tooltip = QT_TR_NOOP("Parallel: the adapter reads the block's input and adds to "
                                    "its output (the paper's setting). Sequential: the adapter "
                                    "transforms the block's output."),
              .choices = { { QT_TR_NOOP("Parallel"), int(core::AdapterMode::Parallel) },
                  { QT_TR_NOOP("Sequential"), int(core::AdapterMode::Sequential) } } },
            member(&PeftConfig::adapter, &AdapterKnobs::mode) },
        { { .kind = Kind::Int,
              .name = "bottleneck",
              .title = QT_TR_NOOP("Bottleneck size"),
              .accessibleName = QT_TR_NOOP("Adapter bottleneck size"),
              .tooltip = QT_TR_NOOP("Bottleneck width r (conformer: GLU output channels); the "
                                    "paper: 12 for the bottleneck block, 8 for the conformer."),
              .minimum = 1,
              .maximum = 768 },
            member(&PeftConfig::adapter, &AdapterKnobs::bottleneck) },
        { { .kind = Kind::Int,
              .name = "kernel",
              .title = QT_TR_NOOP("Kernel"),
              .accessibleName = QT_TR_NOOP("Conformer kernel size"),
              .tooltip =
                  QT_TR_NOOP("Depthwise convolution kernel over the tokens (the paper: 31)."),
              .minimum = core::kKernelRange.min,
              .maximum = core::kKernelRange.max },
            member(&PeftConfig::adapter, &AdapterKnobs::kernel) },
    };
    return fields;
}

const std::vector<KnobField> &tokenKnobFields()
{
    static const std::vector<KnobField> fields = {
        { { .kind = Kind::Int,
              .name = "prompts",
              .title = QT_TR_NOOP("Prompts"),
              .accessibleName = QT_TR_NOOP("Prompt tokens"),
              .tooltip = QT_TR_NOOP("Learned prompt tokens (per layer for deep prompts); they "
                                    "lengthen the sequence, so they cost time and memory (the "
                                    "paper: 300 shallow, 25 deep)."),
              .minimum = core::kPromptsRange.min,
              .maximum = core::kPromptsRange.max },
            member(&PeftConfig::prompts) },
        { { .kind = Kind::Int,
              .name = "prefixTokens",
              .title = QT_TR_NOOP("Prefix tokens"),
              .accessibleName = QT_TR_NOOP("Prefix tokens"),
              .tooltip = QT_TR_NOOP("Learned key plus value tokens per layer, half each; even "
                                    "(the paper: 24)."),
              .minimum = core::kPrefixTokensRange.min,
              .maximum = core::kPrefixTokensRange.max,
              .step = 2 },
            member(&PeftConfig::prefixTokens) },
    };
    return fields;
}

std::vector<KnobField> knobFields()
{
    return concatenated({ &loraKnobFields(), &adapterKnobFields(), &tokenKnobFields() });
}

} // namespace astpeft::ui
