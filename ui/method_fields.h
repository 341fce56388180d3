// SPDX-License-Identifier: MIT
// The Method view's field tables, in form order: the training options and the PEFT knobs that
// are plain numbers, combos or check boxes. The method, the LoRA targets, the budget, the device
// and the precision are the view's own widgets.
#pragma once

#include "peft/peft_config.h"
#include "setting_field.h"
#include "train/trainer.h"

#include <vector>

namespace astpeft::ui {

using TrainField = SettingField<core::TrainOptions>;
using KnobField = SettingField<core::PeftConfig>;

const std::vector<TrainField> &hyperParameterFields(); // epochs to seed, above the device
const std::vector<TrainField> &augmentationFields(); // below the precision, with checkpointing
std::vector<TrainField> trainFields(); // both

const std::vector<KnobField> &loraKnobFields(); // rank, alpha; above the targets
const std::vector<KnobField> &adapterKnobFields(); // block to kernel
const std::vector<KnobField> &tokenKnobFields(); // prompts, prefix tokens
std::vector<KnobField> knobFields(); // all three

} // namespace astpeft::ui
