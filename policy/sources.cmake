# What a job may do: the parsed policy and the writable-root rule.
list(APPEND CAPSID_SOURCES
  policy/denyread.c
  policy/policy.c
  policy/workspace-rule.c
  policy/${CAPSID_OS}/deny-glob-${CAPSID_OS}.c
  policy/${CAPSID_OS}/workspace-rule-${CAPSID_OS}.c)
