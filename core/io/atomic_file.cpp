// SPDX-License-Identifier: MIT
#include "io/atomic_file.h"
