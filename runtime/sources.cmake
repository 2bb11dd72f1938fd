list(APPEND CAPSID_SOURCES
  runtime/alloc.c
  runtime/capstore.c
  runtime/env.c
  runtime/error.c
  runtime/fault.c
  runtime/job.c
  runtime/json-util.c
  runtime/pool.c
  runtime/runtime.c
  runtime/units.c
  runtime/${CAPSID_OS}/env-${CAPSID_OS}.c
  runtime/${CAPSID_OS}/error-${CAPSID_OS}.c
  runtime/${CAPSID_OS}/file-${CAPSID_OS}.c
  runtime/${CAPSID_OS}/path-${CAPSID_OS}.c)
if(CAPSID_OS STREQUAL "win")
  list(APPEND CAPSID_SOURCES runtime/win/win-util.c)
endif()
