# The ACL engine: portable core in acl/, the filesystem backend in
# acl/${CAPSID_OS}/.
list(APPEND CAPSID_SOURCES
  acl/audit.c
  acl/audit-scan.c
  acl/lead.c
  acl/op.c
  acl/plan.c
  acl/record.c
  acl/snapshot.c
  acl/test-hook.c
  acl/track.c
  acl/walk.c)
if(CAPSID_OS STREQUAL "linux")
  list(APPEND CAPSID_SOURCES
    acl/linux/fs-linux.c
    acl/linux/posix-acl-linux.c
    acl/linux/principal-linux.c
    acl/linux/watch-linux.c)
endif()
if(CAPSID_OS STREQUAL "win")
  list(APPEND CAPSID_SOURCES
    acl/win/dacl-rebuild-win.c
    acl/win/dacl-win.c
    acl/win/fs-win.c
    acl/win/principal-win.c)
endif()
