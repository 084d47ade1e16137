// Positive control for the layering test: node/ links pgctl, so this compiles.
#include "pgctl/data_dir.h"
