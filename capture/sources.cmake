list(APPEND CAPSID_SOURCES
  capture/capture.c
  capture/outbuf.c
  capture/${CAPSID_OS}/pipe-${CAPSID_OS}.c)
