// SPDX-License-Identifier: MIT
// train() (see trainer.h): the phases of a TrainingRun, in order (training_run.h).
#include "train/trainer.h"

#include "runtime/torch_compat.h"
#include "train/training_run.h"

#include <torch/torch.h>

#include <exception>
#include <optional>

namespace astpeft::core {

Precision defaultTrainingPrecision(const std::string &device)
{
    return compat::cudaSupportsBf16(torch::Device(device)) ? Precision::BF16 : Precision::F32;
}

FinishedEvent train(const TrainOptions &options, TrainObserver &observer, std::stop_token stop,
    TrainControl *control)
{
    detail::TrainingRun run(options, observer, std::move(stop), control);
    run.joinGroup();
    try {
        run.readInputs();
        run.loadBackbone();
    } catch (const std::exception &e) {
        run.tellPeers(e);
        throw;
    }
    try {
        run.attachMethod();
        run.prepareInputs();
        run.cacheEncoderOutputs();
        run.planSteps();
        for (int epoch = run.firstEpoch(); run.runsEpoch(epoch); ++epoch) {
            const std::optional<detail::EpochProgress> progress = run.trainEpoch(epoch);
            if (!progress || !run.endEpoch(*progress))
                break;
        }
        return run.finish();
    } catch (const std::exception &e) {
        std::optional<Error> outOfMemory = run.reportFailure(e);
        run.tellPeers(outOfMemory ? *outOfMemory : e);
        if (outOfMemory)
            throw *outOfMemory;
        throw;
    }
}

} // namespace astpeft::core
