# Network lockdown (net/net.h): Linux's namespace maker, loopback, held
# per-workspace namespaces and offline socket families; the Windows
# firewall rules of the offline sandbox user.
if(CAPSID_OS STREQUAL "linux")
  list(APPEND CAPSID_SOURCES
    net/linux/heldns-linux.c
    net/linux/netns-linux.c
    net/linux/offline-linux.c)
endif()
if(CAPSID_OS STREQUAL "win")
  list(APPEND CAPSID_SOURCES net/win/firewall-win.c)
endif()
