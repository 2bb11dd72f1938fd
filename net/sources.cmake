# Network lockdown (net/net.h): the Windows firewall rules of the offline
# sandbox user.
if(CAPSID_OS STREQUAL "win")
  list(APPEND CAPSID_SOURCES net/win/firewall-win.c)
endif()
