// SPDX-License-Identifier: MIT
#include "audio/audio_file.h"
