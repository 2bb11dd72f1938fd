# The ACL engine: portable core in acl/, the filesystem backend in
# acl/${CAPSID_OS}/.
list(APPEND CAPSID_SOURCES
  acl/op.c
  acl/plan.c)
