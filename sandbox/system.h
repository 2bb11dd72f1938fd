/* What the machine offers, and the one-time set-up of elevated mode.
 *
 * OS-neutral declarations; each OS implements them in
 * sandbox/<os>/system-<os>.c (Linux: sandbox/linux/system-linux.c). The
 * CLI's doctor, setup and uninstall commands are thin wrappers. */
#ifndef CAPSID_SYSTEM_H
#define CAPSID_SYSTEM_H

#include "capsid-common.h"
#include "env.h"
#include "report.h"

/* Probes every feature confinement uses, reporting one line each, with
 * workspace (may be NULL: the cwd) as the filesystem whose ACL support is
 * checked. Returns the mode `auto` would run (CAPSID_MODE_NONE when no
 * confining mode is available). */
capsid_mode_t capsid__system_probe(const char* workspace,
                                   capsid__report_cb cb, void* data);

/* Elevated mode's set-up (needs root): state directory, identity range,
 * capability store, cgroup parents. Idempotent: what exists is kept and
 * reported as such. Returns 0 or a CAPSID_E* code with err filled. */
int capsid__system_setup(capsid__report_cb cb, void* data,
                         capsid_error_t* err);

/* Read roots for elevated jobs (after setup): grants the sandbox users'
 * group read and traverse (r-X, inherited) on each of roots (canonical,
 * existing directories), through the ACL engine under its read-roots
 * record, so uninstall takes them back. Grants accumulate across calls.
 * On Linux the roots' ancestors get x for the group (a job must reach
 * them); on Windows the job's SeChangeNotifyPrivilege does that, and the
 * grant holds the read-ACL helper's mutex (one at a time per session).
 * Reports one line per root. */
int capsid__system_read_roots(const char* const* roots,
                              capsid__report_cb cb, void* data,
                              capsid_error_t* err);

/* `capsid doctor --fix`: removes what capsid keeps between processes and
 * nothing uses any more (Linux: the namespace pins of workspaces that are
 * gone, sandbox/linux/nspin-linux.c). Reports one line per removal;
 * returns the number of things it could not remove. */
int capsid__system_fix(capsid__report_cb cb, void* data);

/* The places `capsid audit` scans when given no directory: on Windows
 * the places a job reaches (sandbox/win/wwdeny-win.h); on Linux none are
 * added, and the audit uses its own (acl.h). cwd may be NULL. 0 or
 * CAPSID_ENOMEM. */
int capsid__system_audit_places(const char* cwd, capsid__strv_t* out);
/* Whether capsid has denied path to its jobs: 1 when an ACE of the
 * capability store's SIDs sits on it (Windows, where the audit's
 * findings get deny ACEs), 0 when none does, -1 where the system denies
 * nothing this way (Linux). */
int capsid__system_audit_denied(const char* path);

/* `capsid doctor --probe`: the actions a first real run needs (start
 * cmd, PowerShell, a pipeline, a named mutex, NUL, writes in the
 * workspace) and the ones confinement must refuse (writes and deletes
 * outside, WRITE_DAC on .git, an Everyone-writable directory, an
 * alternate data stream, a case variant of .git), run as jobs by the CLI
 * under each token variant. Windows only: on Linux capsid__probe_make
 * returns CAPSID_ENOTSUP (the smoke suites prove the same there). */
typedef struct capsid__probe_case_s {
  const char* name;
  char** argv;   /* NULL-terminated; owned by the probe */
  int expect_ok; /* 1 allowed, 0 refused, when confinement works */
  int optional;  /* a program that may be missing */
} capsid__probe_case_t;

typedef struct capsid__probe_s {
  char* dir;       /* the fixture, removed by capsid__probe_free */
  char* workspace; /* the jobs' cwd, inside dir */
  char* everyone;  /* the Everyone-writable directory */
  capsid__probe_case_t* cases;
  size_t n;
  int n_variants;
} capsid__probe_t;

int capsid__probe_make(capsid__probe_t* p, capsid_error_t* err);
/* Selects variant i (0 .. n_variants-1) for the jobs that follow and
 * returns its name. */
const char* capsid__probe_variant(const capsid__probe_t* p, int i);
void capsid__probe_free(capsid__probe_t* p);

/* Removes everything setup and every job added, then checks that nothing
 * is left; returns 0 or CAPSID_EVERIFY / another code with err filled. */
int capsid__system_uninstall(capsid__report_cb cb, void* data,
                             capsid_error_t* err);

#endif
