// SPDX-License-Identifier: MIT
#include "model/ast_config.h"
