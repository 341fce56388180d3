// SPDX-License-Identifier: MIT
// A short check that a compute device trains and infers correctly: two LoRA training steps on
// the device, and the same forward pass there and on the CPU compared. What
// `astpeft selfcheck` and `tools/bootstrap.sh gpu` run. Torch-free (app/ includes it).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace astpeft::core {

struct SelfCheckOptions
{
    std::filesystem::path model; // an AST checkpoint folder (the bundled backbone, typically)
    std::string device = "auto"; // resolved by resolveDevice
    int batchSize = 4;
    int steps = 2;
};

struct SelfCheckResult
{
    std::string device; // resolved
    std::string precision; // of the training steps: "bf16" or "fp32" (defaultTrainingPrecision)
    std::vector<double> losses; // one per training step, finite
    double forwardMaxAbsDiff = 0.0; // fp32 logits, device against CPU
    double tolerance = 0.0; // the bound forwardMaxAbsDiff must stay under
    double peakDeviceMemoryMb = 0.0; // CUDA only
    bool passed = false;
};

// Throws core::Error for an unusable device or model (as train does); a check that runs but
// fails (non-finite loss, forward mismatch) returns passed = false.
SelfCheckResult selfCheck(const SelfCheckOptions &options);

} // namespace astpeft::core
