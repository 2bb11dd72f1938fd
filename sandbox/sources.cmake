list(APPEND CAPSID_SOURCES sandbox/policy.c)
if(CAPSID_OS STREQUAL "linux")
  list(APPEND CAPSID_SOURCES
    sandbox/linux/confine-linux.c
    sandbox/linux/launch-linux.c)
endif()
