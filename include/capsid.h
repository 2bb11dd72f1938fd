/* capsid: a sandboxed job runner.
 *
 * This is the one public header. It is identical on every operating system
 * and names no OS type: the loop is libuv's, everything else is opaque or
 * plain data.
 *
 * Threading: every function here must be called on the thread that runs the
 * runtime's loop, unless its comment says "thread-safe".
 *
 * Errors: functions return 0 or a negative CAPSID_E* code. A failed job also
 * carries a capsid_error_t naming the stage, the OS error and the path.
 *
 * ABI: libcapsid.so.MAJOR exports only the functions marked CAPSID_EXTERN.
 * A struct the caller fills (capsid_job_spec_t, capsid_runtime_options_t)
 * starts with its size, which the caller sets to sizeof as its header had
 * it (the *_INIT macros do). New fields are only ever appended, and their
 * zero value keeps the old behaviour; the library reads only the bytes the
 * caller's size covers and takes the rest as zero, so a program built
 * against an older header keeps working with a newer library. A size
 * larger than the library knows is accepted when the extra bytes are all
 * zero, else refused with CAPSID_ENOTSUP (a newer program asked for
 * something this library cannot do). capsid_result_t, which the library
 * writes into the caller's memory (capsid_run_capture,
 * capsid_result_move), never changes size within a major version: a new
 * result field takes its place from the reserved words at its end.
 */
#ifndef CAPSID_H
#define CAPSID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(BUILDING_CAPSID_SHARED)
#define CAPSID_EXTERN __declspec(dllexport)
#elif defined(_WIN32) && defined(USING_CAPSID_SHARED)
#define CAPSID_EXTERN __declspec(dllimport)
#elif defined(BUILDING_CAPSID_SHARED) && defined(__GNUC__)
#define CAPSID_EXTERN __attribute__((visibility("default")))
#else
#define CAPSID_EXTERN /* nothing */
#endif

#define CAPSID_VERSION_MAJOR 0
#define CAPSID_VERSION_MINOR 1
#define CAPSID_VERSION_PATCH 0

/* Returns "MAJOR.MINOR.PATCH". Thread-safe. */
CAPSID_EXTERN const char* capsid_version_string(void);

/* capsid_init flag: point libuv's allocator at capsid's (mimalloc), so
 * the loop and capsid share one allocator. libuv's allocator is
 * process-wide: a host that uses libuv itself (Node, for one) or has set
 * its own must not ask. */
#define CAPSID_INIT_UV_ALLOCATOR 1u

/* Optional process set-up; capsid works without it. With 0 it changes
 * nothing outside capsid: libuv keeps whatever allocator the host gave it.
 * With CAPSID_INIT_UV_ALLOCATOR it must come before the process makes any
 * other libuv call (libuv would otherwise free memory with a different
 * allocator than it came from). Returns 0, or CAPSID_EINVAL for an
 * unknown flag. Not thread-safe. */
CAPSID_EXTERN int capsid_init(unsigned flags);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* XX(name, value, message). Values are fixed forever: append, never renumber.
 * The raw OS error (errno or GetLastError) travels separately in
 * capsid_error_t.os_error. */
#define CAPSID_ERRNO_MAP(XX)                                                 \
  XX(INVAL, -1, "invalid argument")                                          \
  XX(NOMEM, -2, "out of memory")                                             \
  XX(NOENT, -3, "no such file or directory")                                 \
  XX(ACCES, -4, "permission denied")                                         \
  XX(NOTDIR, -5, "not a directory")                                          \
  XX(NOTFOUND, -6, "program not found")                                      \
  XX(NOEXEC, -7, "program is not executable")                                \
  XX(POLICY, -8, "invalid sandbox policy")                                   \
  XX(SPEC, -9, "invalid job spec")                                           \
  XX(JSON, -10, "malformed JSON")                                            \
  XX(TOOLONG, -11, "input too long")                                         \
  XX(NOTSUP, -12, "not supported on this system")                            \
  XX(CANCELED, -13, "operation canceled")                                    \
  XX(CLOSING, -14, "runtime is closing")                                     \
  XX(BUSY, -15, "resource busy")                                             \
  XX(IO, -16, "input/output error")                                          \
  XX(SPAWN, -17, "could not start the process")                              \
  XX(CONFINE, -18, "confinement could not be applied")                       \
  XX(VERIFY, -19, "confinement did not take effect")                         \
  XX(LIMIT, -20, "resource limit could not be applied")                      \
  XX(CORRUPT, -21, "state file is corrupt")                                  \
  XX(NOSETUP, -22, "capsid is not set up on this machine")                   \
  XX(PERM, -23, "operation not permitted")                                   \
  XX(EXIST, -24, "file already exists")                                      \
  XX(AGAIN, -25, "resource temporarily unavailable")                         \
  XX(NOSPC, -26, "no space left on device")                                  \
  XX(MFILE, -27, "too many open files")                                      \
  XX(TIMEDOUT, -28, "operation timed out")                                   \
  XX(XDEV, -29, "crosses a filesystem boundary")                             \
  XX(LOOP, -30, "too many levels of symbolic links")                         \
  XX(RANGE, -31, "value out of range")                                       \
  XX(UNKNOWN, -32, "unknown error")

typedef enum {
#define XX(name, value, msg) CAPSID_E##name = value,
  CAPSID_ERRNO_MAP(XX)
#undef XX
  CAPSID_ERRNO_MIN_ = -33
} capsid_errno_t;

/* The stages a job goes through. A failure names the stage it happened in.
 * Append only. */
#define CAPSID_STAGE_MAP(XX)                                                 \
  XX(NONE, 0, "none")                                                        \
  XX(SPEC, 1, "spec")                                                        \
  XX(POLICY, 2, "policy")                                                    \
  XX(CAPABILITY, 3, "capability")                                            \
  XX(ACL, 4, "acl")                                                          \
  XX(PIPE, 5, "pipe")                                                        \
  XX(SPAWN, 6, "spawn")                                                      \
  XX(CGROUP, 7, "cgroup")                                                    \
  XX(NETNS, 8, "netns")                                                      \
  XX(MOUNT, 9, "mount")                                                      \
  XX(IDENTITY, 10, "identity")                                               \
  XX(NO_NEW_PRIVS, 11, "no-new-privs")                                       \
  XX(CAPS, 12, "capabilities")                                               \
  XX(LANDLOCK, 13, "landlock")                                               \
  XX(SECCOMP, 14, "seccomp")                                                 \
  XX(CHDIR, 15, "chdir")                                                     \
  XX(EXEC, 16, "exec")                                                       \
  XX(CAPTURE, 17, "capture")                                                 \
  XX(WAIT, 18, "wait")                                                       \
  XX(KILL, 19, "kill")                                                       \
  XX(VERIFY, 20, "verify")                                                   \
  XX(LIMITS, 21, "limits")                                                   \
  XX(USERNS, 22, "userns")                                                   \
  XX(STDIN, 23, "stdin")

typedef enum {
#define XX(name, value, str) CAPSID_STAGE_##name = value,
  CAPSID_STAGE_MAP(XX)
#undef XX
  CAPSID_STAGE_COUNT_
} capsid_stage_t;

/* Message of an error code; never NULL, even for unknown codes. Thread-safe. */
CAPSID_EXTERN const char* capsid_strerror(int err);
/* Symbolic name ("CAPSID_EINVAL"); never NULL. Thread-safe. */
CAPSID_EXTERN const char* capsid_err_name(int err);
/* Name of a stage ("spawn"); never NULL. Thread-safe. */
CAPSID_EXTERN const char* capsid_stage_name(int stage);

/* What went wrong with a job or a call. Strings are owned by the struct that
 * contains it and freed with it. */
typedef struct capsid_error_s {
  int code;          /* 0 or CAPSID_E* */
  int stage;         /* capsid_stage_t */
  int os_error;      /* errno on Linux, GetLastError() on Windows; 0 if none */
  char* path;        /* the path involved, or NULL */
  char* field;       /* the input field involved ("policy.writable_roots[1]") */
  char* message;     /* one human sentence, or NULL */
} capsid_error_t;

/* Formats an error as one line: "stage: message: path: os error text".
 * Writes at most size-1 bytes plus a NUL and returns buf. Thread-safe. */
CAPSID_EXTERN char* capsid_error_format(const capsid_error_t* err, char* buf,
                                        size_t size);

/* ------------------------------------------------------------------------ */
/* Units                                                                     */

/* "500ms", "10s", "1.5s", "2m", "1h", or a bare number of seconds ("10" is
 * 10 s, "0.5" is 500 ms), as GNU timeout reads it. */
CAPSID_EXTERN int capsid_parse_duration(const char* text, uint64_t* ms);
/* "64M", "2G", "512k", "1MiB", or a bare number of bytes. Powers of 1024. */
CAPSID_EXTERN int capsid_parse_size(const char* text, uint64_t* bytes);

/* ------------------------------------------------------------------------ */
/* Jobs                                                                      */

typedef struct capsid_runtime_s capsid_runtime_t;
typedef struct capsid_job_s capsid_job_t;

typedef enum {
  CAPSID_ENV_INHERIT = 0, /* capsid's environment, then spec.env on top */
  CAPSID_ENV_REPLACE = 1  /* exactly spec.env */
} capsid_env_mode_t;

/* A mode asked for by name runs with every restriction it promises or the
 * job fails with CAPSID_ENOTSUP and does not run; only AUTO falls back,
 * and the result's mode says to what. */
typedef enum {
  CAPSID_MODE_AUTO = 0,         /* elevated where set up, else unprivileged,
                                   else landlock-only */
  CAPSID_MODE_ELEVATED = 1,     /* per-workspace identities and ACLs */
  CAPSID_MODE_UNPRIVILEGED = 2, /* namespaces + Landlock + seccomp */
  CAPSID_MODE_NONE = 3,         /* what ran: no confinement was applied */
  /* What AUTO ran where user namespaces are blocked: Landlock + seccomp
   * only. Protected sub-paths inside writable roots are not enforced
   * there, and the job gets no SysV IPC. */
  CAPSID_MODE_LANDLOCK_ONLY = 4
} capsid_mode_t;

/* Name of a mode ("auto", "elevated", "unprivileged", "none"). */
CAPSID_EXTERN const char* capsid_mode_name(capsid_mode_t mode);

#define CAPSID_STDOUT 1
#define CAPSID_STDERR 2

/* Called on the loop thread for every chunk a job writes, before any cap is
 * applied, so a streaming consumer sees every byte. */
typedef void (*capsid_output_cb)(capsid_job_t* job, int stream,
                                 const char* bytes, size_t len, void* data);

/* What to run. Borrowed for the duration of capsid_job_start() only: every
 * string is copied. Start from CAPSID_JOB_SPEC_INIT (all zero but size)
 * and set what you need. */
typedef struct capsid_job_spec_s {
  /* sizeof(capsid_job_spec_t) in the caller's header (see "ABI" above);
   * less than the first stable layout's (which ended at on_output) is
   * CAPSID_EINVAL. */
  size_t size;
  const char* const* argv;   /* NULL-terminated; argv[0] is required */
  const char* cwd;           /* workspace and working directory; NULL: "." */
  capsid_env_mode_t env_mode;
  const char* const* env;    /* NULL-terminated "NAME=VALUE" list, or NULL */
  const char* stdin_data;    /* bytes fed to the job's stdin, then EOF */
  size_t stdin_len;
  /* "read-only", "workspace-write", or a JSON object in the shape of the
   * Codex SandboxPolicy. NULL means "workspace-write". */
  const char* policy;
  const char* const* writable_roots;  /* extra roots, added to the policy */
  const char* const* read_only_paths; /* carve-outs, added to the policy */
  int network;               /* -1: as the policy says; 0: off; 1: on */
  capsid_mode_t mode;
  uint64_t timeout_ms;       /* 0: none */
  uint64_t memory_limit;     /* bytes; 0: none */
  uint32_t max_processes;    /* 0: none */
  uint64_t output_limit;     /* per stream; 0: CAPSID_DEFAULT_OUTPUT_LIMIT */
  capsid_output_cb on_output; /* optional */
  double cpu_limit;          /* CPUs the job may use (0.5: half of one); 0: none */
  /* 1: stdin stays open after stdin_data, fed by capsid_job_write_stdin
   * while the job runs, until a write with eof; 0: EOF after stdin_data. */
  int stdin_stream;
  /* New fields go here, at the end; their zero must mean "as before". */
} capsid_job_spec_t;

/* An empty spec of this header's size:
 *   capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT; */
#define CAPSID_JOB_SPEC_INIT {.size = sizeof(capsid_job_spec_t)}

#define CAPSID_DEFAULT_OUTPUT_LIMIT ((uint64_t)1 << 20)

/* Captured bytes of one stream. When the stream wrote more than the cap, data
 * holds the first half of the cap, a one-line marker, then the last half;
 * dropped says how many bytes of the stream are not in data. */
typedef struct capsid_output_s {
  char* data;       /* NUL-terminated for convenience; may contain NULs */
  size_t len;       /* bytes in data, marker included */
  uint64_t total;   /* bytes the job wrote to the stream */
  uint64_t dropped; /* total minus the job's bytes kept in data */
  int truncated;    /* dropped > 0 */
} capsid_output_t;

typedef struct capsid_result_s {
  int exit_code;      /* the program's exit status, or -1 if it was killed */
  int signal;         /* the signal that ended it, or 0 */
  int timed_out;      /* killed because timeout_ms passed */
  int oom;            /* killed because memory_limit was hit */
  int killed;         /* ended by capsid_job_kill or runtime close */
  double wall_ms;     /* start of spawn to reap */
  double user_cpu_ms; /* of the job's process tree, where the OS tells */
  double sys_cpu_ms;
  int64_t peak_memory; /* bytes, or -1 when the platform does not tell */
  capsid_mode_t mode;  /* the confinement that actually ran */
  capsid_output_t out;
  capsid_output_t err;
  capsid_error_t error; /* error.code != 0: capsid failed to run the job */
  int limits;          /* capsid_limits_t: how the limits were enforced */
  int pids_limited;    /* the process limit refused a fork */
  /* capsid_job_signal asked the job to stop before it ended; killed says
   * whether it then had to be killed (the grace ran out). */
  int interrupted;
  int64_t pid;           /* the job's first process (host pid); 0: none ran */
  int64_t started_at_us; /* wall clock at spawn, µs since the Unix epoch; 0 */
  /* What the job ran under, as compact JSON owned by the result: the
   * policy resolved ({"policy", "writable_roots", "protected_paths",
   * "deny_read", "network"}), NULL when it could not be resolved. */
  char* sandbox;
  /* What it was refused, as far as capsid can tell: a JSON array of
   * {"op", "path", "rule"} (at most 16), one per path the job's stderr
   * reported refused (read-only file system, permission denied) that a
   * rule of the policy covers; NULL when the job did not run. */
  char* denials;
  /* Room for later fields, so that the struct keeps its size (see "ABI"
   * above): a new field is declared here and reserved_ shrinks by as
   * much. Zero. */
  uint64_t reserved_[4];
} capsid_result_t;

/* How a job's limits were enforced. */
typedef enum {
  CAPSID_LIMITS_NONE = 0,   /* no limit was asked for, or none could apply */
  CAPSID_LIMITS_CGROUP = 1, /* cgroups (job object on Windows) */
  CAPSID_LIMITS_RLIMIT = 2  /* setrlimit: per process, the last resort */
} capsid_limits_t;

/* Name of a limits kind ("none", "cgroup", "rlimit"). */
CAPSID_EXTERN const char* capsid_limits_name(int limits);

/* Frees the buffers a result owns and zeroes it. Accepts NULL. */
CAPSID_EXTERN void capsid_result_free(capsid_result_t* result);
/* Moves src into dst (which must not own anything) and zeroes src. Lets an
 * exit callback keep a result past the callback without copying output. */
CAPSID_EXTERN void capsid_result_move(capsid_result_t* dst,
                                      capsid_result_t* src);

/* Called exactly once per started job, on the loop thread. The result and
 * the job are valid only during the call (use capsid_result_move to keep the
 * result). */
typedef void (*capsid_exit_cb)(capsid_job_t* job, capsid_result_t* result,
                               void* data);

/* ------------------------------------------------------------------------ */
/* Runtime                                                                   */

typedef struct capsid_runtime_options_s {
  /* sizeof(capsid_runtime_options_t) in the caller's header (see "ABI"
   * above); less than the first stable layout's is CAPSID_EINVAL. */
  size_t size;
  /* The loop to run on. NULL: the runtime creates and owns one, and
   * capsid_runtime_run() drives it. The runtime borrows a caller's loop: it
   * must outlive the runtime. */
  void* loop; /* uv_loop_t* */
  /* Jobs running at once; the rest wait in FIFO order. 0: number of CPUs. */
  unsigned max_concurrency;
  /* Threads of capsid's own worker pool (ACL walks). 0: number of CPUs. */
  unsigned worker_threads;
  /* New fields go here, at the end; their zero must mean "as before". */
} capsid_runtime_options_t;

/* Default options of this header's size:
 *   capsid_runtime_options_t opts = CAPSID_RUNTIME_OPTIONS_INIT; */
#define CAPSID_RUNTIME_OPTIONS_INIT                                          \
  {.size = sizeof(capsid_runtime_options_t)}

/* Creates a runtime. options may be NULL (the defaults). Returns 0 or
 * CAPSID_ENOMEM / CAPSID_EINVAL (also for a wrong options->size) /
 * CAPSID_ENOTSUP (options of a newer header asking for what this library
 * lacks) / an OS failure creating the loop or the pool. */
CAPSID_EXTERN int capsid_runtime_new(const capsid_runtime_options_t* options,
                                     capsid_runtime_t** out);

/* The loop the runtime runs on (uv_loop_t*). */
CAPSID_EXTERN void* capsid_runtime_loop(capsid_runtime_t* rt);

/* Runs the runtime's loop until no job is queued or running. Meant for a
 * runtime that owns its loop; on a borrowed loop it runs that loop the same
 * way. Returns 0. */
CAPSID_EXTERN int capsid_runtime_run(capsid_runtime_t* rt);

/* Orderly shutdown: queued jobs complete with CAPSID_ECANCELED, running jobs
 * have their whole process tree killed and are reaped (their callbacks see
 * killed = 1), every handle is closed, and then the runtime is freed and
 * close_cb (if any) is called. When the runtime owns its loop, this runs the
 * loop to completion and returns after close_cb; on a borrowed loop it
 * returns at once and the caller keeps running the loop. */
CAPSID_EXTERN void capsid_runtime_close(capsid_runtime_t* rt,
                                        void (*close_cb)(void* data),
                                        void* data);

/* Jobs currently queued and running. */
CAPSID_EXTERN unsigned capsid_runtime_queued(const capsid_runtime_t* rt);
CAPSID_EXTERN unsigned capsid_runtime_running(const capsid_runtime_t* rt);

/* Starts a job and returns at once. On 0, on_exit is called exactly once,
 * later, on the loop thread -- also when the job cannot run (bad policy,
 * missing cwd, program not found): then result->error says why. A negative
 * return (CAPSID_EINVAL for a NULL argument or a wrong spec->size,
 * CAPSID_ENOTSUP for a newer header's spec asking for what this library
 * lacks, CAPSID_ECLOSING, CAPSID_ENOMEM) means no callback will come.
 * job_out, if not NULL, receives a handle valid until on_exit returns. */
CAPSID_EXTERN int capsid_job_start(capsid_runtime_t* rt,
                                   const capsid_job_spec_t* spec,
                                   capsid_exit_cb on_exit, void* data,
                                   capsid_job_t** job_out);

/* Kills the job's whole process tree (or drops it from the queue). The exit
 * callback still comes, with killed = 1. Returns 0, or CAPSID_EINVAL. */
CAPSID_EXTERN int capsid_job_kill(capsid_job_t* job);

/* The stop requests capsid_job_signal sends: POSIX signal numbers, the
 * same values on every OS. */
#define CAPSID_SIGHUP 1
#define CAPSID_SIGINT 2
#define CAPSID_SIGTERM 15

/* Asks the job to stop, and kills it if it does not: sends sig
 * (CAPSID_SIGTERM, CAPSID_SIGINT or CAPSID_SIGHUP) to every process of
 * the job -- on Linux the processes of its pid namespace (its init passes
 * the signal on), else its process group and cgroup -- and when the job
 * has not ended grace_ms later, kills its whole tree as capsid_job_kill
 * does. grace_ms 0 kills at once; a later call may shorten a running
 * grace, never lengthen it. A queued job is dropped from the queue. The
 * exit callback comes as for any job, with interrupted = 1, and
 * killed = 1 too when the grace ran out. On Windows no signal can be
 * delivered to a job (a job object has none): the job is left to end by
 * itself during the grace, then terminated. Returns 0, or CAPSID_EINVAL
 * for a NULL job or another signal. */
CAPSID_EXTERN int capsid_job_signal(capsid_job_t* job, int sig,
                                    uint64_t grace_ms);

/* The data pointer passed to capsid_job_start. */
CAPSID_EXTERN void* capsid_job_data(const capsid_job_t* job);

/* Runs one job synchronously on a private loop and fills *result (free it
 * with capsid_result_free). Returns result->error.code. The counterpart of
 * Codex's run_windows_sandbox_capture. Thread-safe: each call has its own
 * loop. */
CAPSID_EXTERN int capsid_run_capture(const capsid_job_spec_t* spec,
                                     capsid_result_t* result);

/* ------------------------------------------------------------------------ */
/* Streamed stdin                                                            */

/* Bytes of one job's stdin that capsid holds, taken by
 * capsid_job_write_stdin but not yet read by the job (or not yet in its
 * pipe), before it answers CAPSID_EAGAIN. */
#define CAPSID_STDIN_QUEUE_LIMIT ((size_t)1 << 20)

/* A write of capsid_job_write_stdin is done: status 0 (the bytes are in
 * the job's stdin pipe) or CAPSID_ECANCELED (they never will be: the job
 * closed its stdin, ended, or did not start). */
typedef void (*capsid_stdin_cb)(capsid_job_t* job, int status, void* data);

/* Feeds a job started with spec.stdin_stream = 1 while it runs (or waits
 * in the queue: the bytes go in when it starts). Copies len bytes (len 0
 * is fine) and returns at once; the job reads them from its stdin in
 * order. eof = 1 ends the stream after these bytes: the job reads EOF
 * once it has read them; no write may follow.
 *
 * Back-pressure: capsid holds at most CAPSID_STDIN_QUEUE_LIMIT bytes a
 * job has not read, or one write of any size when it holds none. A write
 * that would pass the limit takes nothing and returns CAPSID_EAGAIN: try
 * it again after an earlier write's on_written. on_written (optional)
 * is called once per write that returned 0, on the loop thread, never
 * from inside this call, and always before the job's exit callback.
 *
 * Returns 0; CAPSID_EAGAIN (full); CAPSID_ECANCELED when the job's stdin
 * is closed already (it exited or stopped reading: a pipe's EPIPE; the
 * process must ignore SIGPIPE, as it must for stdin_data); CAPSID_EINVAL
 * for a NULL job, a job without stdin_stream, a write after eof, or NULL
 * bytes with len > 0; CAPSID_ENOMEM. On a negative return on_written is
 * not called. On the loop thread only, like every call here, and only
 * until the job's exit callback returns. */
CAPSID_EXTERN int capsid_job_write_stdin(capsid_job_t* job, const char* bytes,
                                         size_t len, int eof,
                                         capsid_stdin_cb on_written,
                                         void* data);

#ifdef __cplusplus
}
#endif
#endif /* CAPSID_H */
