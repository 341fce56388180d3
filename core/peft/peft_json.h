// SPDX-License-Identifier: MIT
// A PeftConfig as JSON fields ("method", "init", "lora", "adapter", "prompts",
// "prefix_tokens"), shared by adapter_config.json and a run's options.json. Core-internal.
#pragma once

#include "io/json_reader.h"
#include "peft/peft_config.h"

namespace astpeft::core {

// Adds the fields to the object `j`.
void writePeftJson(nlohmann::json &j, const PeftConfig &peft);
// Reads them from the object `j`; core::Error(Format) names r.file and the field.
PeftConfig readPeftJson(const JsonReader &r, const nlohmann::json &j);

} // namespace astpeft::core
