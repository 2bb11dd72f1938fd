set(CAPSID_CLI_SOURCES
  cli/cli-log.c
  cli/cmd-bench.c
  cli/batch-defaults.c
  cli/batch-halt.c
  cli/batch-joblog.c
  cli/batch-options.c
  cli/batch-resume.c
  cli/batch-summary.c
  cli/cmd-batch.c
  cli/cmd-run.c
  cli/denial-hint.c
  cli/help.c
  cli/linereader.c
  cli/main.c
  cli/passthru.c
  cli/progress.c
  cli/tmp-warning.c)
# The ACL engine's commands.
list(APPEND CAPSID_CLI_SOURCES cli/cmd-acl.c cli/cmd-audit.c)
# Linux confinement's commands (set-up, uninstall, what works here).
list(APPEND CAPSID_CLI_SOURCES cli/cmd-doctor.c cli/cmd-setup.c)
# Windows: the manifest (UTF-8 process code page) embedded in capsid.exe.
if(WIN32)
  enable_language(RC)
  list(APPEND CAPSID_CLI_SOURCES cli/win/capsid.rc)
endif()
# `capsid serve` and the thin-client mode of run and batch (--server).
if(CAPSID_SERVE)
  list(APPEND CAPSID_CLI_SOURCES cli/cmd-serve.c cli/client.c
    cli/client-batch.c cli/client-run.c)
  # The named-pipe address of Windows (pipe:NAME); none on Linux.
  list(APPEND CAPSID_CLI_SOURCES cli/${CAPSID_OS}/client-pipe-${CAPSID_OS}.c)
endif()
