# Benchmarks are part of the capsid command (`capsid bench NAME`).
if(CAPSID_OS STREQUAL "win")
  list(APPEND CAPSID_CLI_SOURCES bench/win/bench-win.c)
else()
list(APPEND CAPSID_CLI_SOURCES
  bench/bench-batch.c
  bench/bench-capture.c
  bench/bench-memory.c
  bench/bench-spawn.c
  bench/bench-util.c)
  list(APPEND CAPSID_CLI_SOURCES bench/bench-acl.c bench/bench-workspace.c)
  if(CAPSID_SERVE)
    list(APPEND CAPSID_CLI_SOURCES bench/bench-serve.c)
  endif()
endif()
