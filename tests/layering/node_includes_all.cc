// Positive control for the layering tests: node/ links every room and every
// lower module, so each header the probes are refused compiles here.
#include "api/backend.h"
#include "api/server.h"
#include "conf/config.h"
#include "consensus/raft_node.h"
#include "ctl/ctl.h"
#include "ha/agent.h"
#include "node/api_agent_backend.h"
#include "node/daemon.h"
#include "pgctl/data_dir.h"
#include "pgctl/postgres.h"
#include "proxy/route.h"
