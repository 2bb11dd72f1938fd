# Confinement: the capability store, per-OS launch and set-up.
list(APPEND CAPSID_SOURCES sandbox/capstore.c sandbox/denials.c)
if(CAPSID_OS STREQUAL "linux")
  list(APPEND CAPSID_SOURCES
    sandbox/linux/caps-linux.c
    sandbox/linux/cgroup-linux.c
    sandbox/linux/confine-linux.c
    sandbox/linux/denyread-linux.c
    sandbox/linux/elevated-linux.c
    sandbox/linux/kdenials-linux.c
    sandbox/linux/handback-linux.c
    sandbox/linux/landlock-linux.c
    sandbox/linux/landlock-deny-linux.c
    sandbox/linux/modes-linux.c
    sandbox/linux/mounts-linux.c
    sandbox/linux/nspin-linux.c
    sandbox/linux/placeholder-linux.c
    sandbox/linux/seccomp-linux.c
    sandbox/linux/system-linux.c
    sandbox/linux/userns-linux.c
    sandbox/linux/verify-linux.c
    sandbox/linux/launch-linux.c
    sandbox/linux/doctor-extras-linux.c)
endif()
if(CAPSID_OS STREQUAL "win")
  list(APPEND CAPSID_SOURCES
    sandbox/win/capstore-win.c
    sandbox/win/denyread-win.c
    sandbox/win/desktop-win.c
    sandbox/win/elevated-win.c
    sandbox/win/grant-win.c
    sandbox/win/helper-win.c
    sandbox/win/jobobj-win.c
    sandbox/win/kdenials-win.c
    sandbox/win/launch-win.c
    sandbox/win/nul-win.c
    sandbox/win/placeholder-win.c
    sandbox/win/plan-win.c
    sandbox/win/probe-win.c
    sandbox/win/resolve-win.c
    sandbox/win/runner-client-win.c
    sandbox/win/runner-win.c
    sandbox/win/runner-wire-win.c
    sandbox/win/spawn-win.c
    sandbox/win/system-win.c
    sandbox/win/token-win.c
    sandbox/win/users-win.c
    sandbox/win/verify-win.c
    sandbox/win/wwdeny-win.c)
endif()
