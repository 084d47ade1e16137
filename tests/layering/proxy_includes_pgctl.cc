// Deliberately violates the layering (proxy must not see pgctl): building
// this file must fail. See tests/layering/layering.cmake.
#include "base/log.h"          // allowed: every module sees base/
#include "pgctl/data_dir.h"  // forbidden: proxy does not link pgctl
