/* The few POSIX spellings the CLI uses that Windows lacks, so the command
 * files stay free of #ifdef _WIN32. */
#ifndef CLI_COMPAT_H
#define CLI_COMPAT_H

#include <fcntl.h>
#include <signal.h>

#ifdef _WIN32
#include <io.h>
#include <stdio.h>
/* Nobody is "root": per-user state, as for an unprivileged Linux user. */
#define geteuid() 1u
/* Keeps one message's lines together when threads print. */
#define flockfile(f) _lock_file(f)
#define funlockfile(f) _unlock_file(f)
/* "Not inherited by child processes" is O_NOINHERIT on Windows; files are
 * read in binary mode so "\r\n" reaches the parsers as written. */
#ifndef O_CLOEXEC
#define O_CLOEXEC (O_NOINHERIT | O_BINARY)
#endif
/* The per-user state directory is the library's (%LOCALAPPDATA%\capsid),
 * where uninstall looks for the ACL engine's records. */
#include "system.h"
#define CLI_OS_STATE_DIR() capsid__state_dir()
/* Windows has no SIGPIPE: a write to a closed pipe fails with EPIPE. */
#define CLI_IGNORE_SIGPIPE() ((void)0)
/* JSON lines end in "\n", not the "\r\n" text mode would write. */
#define CLI_BINARY_STDIO()                                                   \
  ((void)_setmode(0, _O_BINARY), (void)_setmode(1, _O_BINARY),               \
   (void)_setmode(2, _O_BINARY))
#else
#define CLI_OS_STATE_DIR() ((const char*)NULL)
#define CLI_IGNORE_SIGPIPE() ((void)signal(SIGPIPE, SIG_IGN))
#define CLI_BINARY_STDIO() ((void)0)
#endif

#endif
