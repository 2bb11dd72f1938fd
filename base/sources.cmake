# The bottom layer: allocation, errors, units, JSON helpers, failure
# injection, the worker pool, environment blocks, files and paths. It
# includes nothing of capsid's but the public header.
list(APPEND CAPSID_SOURCES
  base/abi.c
  base/alloc.c
  base/args.c
  base/env.c
  base/error.c
  base/fault.c
  base/json-util.c
  base/log.c
  base/path.c
  base/pool.c
  base/report.c
  base/units.c
  base/${CAPSID_OS}/env-${CAPSID_OS}.c
  base/${CAPSID_OS}/error-${CAPSID_OS}.c
  base/${CAPSID_OS}/file-${CAPSID_OS}.c
  base/${CAPSID_OS}/path-${CAPSID_OS}.c)
if(CAPSID_OS STREQUAL "linux")
  list(APPEND CAPSID_SOURCES base/linux/idmap-linux.c)
endif()
if(CAPSID_OS STREQUAL "win")
  list(APPEND CAPSID_SOURCES base/win/win-util.c)
endif()
