# Run by the layering_api_sees_agent_only_through_backend test (cmake -P):
# fails, naming file and line, when a file under api/ includes one of the
# agent's own headers instead of going through api/backend.h.
file(GLOB files ${SRC}/api/*.h ${SRC}/api/*.cc)
set(bad "")
foreach(f ${files})
  file(STRINGS ${f} lines REGEX "#include \"ha/(agent|agent_context|agent_loop|agent_world|decider_runner|[a-z_]*_controller)\\.h\"")
  foreach(l ${lines})
    string(APPEND bad "${f}: ${l}\n")
  endforeach()
endforeach()
if(NOT files)
  message(FATAL_ERROR "no files under ${SRC}/api: wrong source directory?")
endif()
if(bad)
  message(FATAL_ERROR "api/ must see the agent only through api/backend.h:\n${bad}")
endif()
list(LENGTH files n)
message(STATUS "api/: ${n} files checked, none includes the agent's headers")
