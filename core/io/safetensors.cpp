// SPDX-License-Identifier: MIT
#include "io/safetensors.h"
