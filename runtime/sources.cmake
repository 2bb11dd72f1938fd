# The top of the library: the runtime (loop, pool, workspaces) and the job
# state machine that drives a job through capture, sandbox and ACLs.
list(APPEND CAPSID_SOURCES
  runtime/job.c
  runtime/job-stdin.c
  runtime/runtime.c)
