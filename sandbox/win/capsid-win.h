/* The Windows sandbox backend's internal interfaces (sandbox/win/).
 *
 * A job's confinement is built in this order, each step read back and
 * compared with what was asked before the next one starts (fail closed):
 *   capability SIDs (capstore-win.c) -> restricted token (token-win.c)
 *   -> job object (jobobj-win.c) -> DACL grants (grant-win.c)
 *   -> CreateProcessAsUserW (spawn-win.c), driven by launch-win.c.
 * In elevated mode the token and the process are made by the runner,
 * running as the sandbox user (runner-client-win.c, runner-win.c). */
#ifndef CAPSID_SANDBOX_WIN_H
#define CAPSID_SANDBOX_WIN_H

#include "capstore.h"
#include "net.h"
#include "sandbox-int.h"
#include "system.h"
#include "win-dacl.h"

#include <windows.h>

/* A string SID "S-1-5-21-a-b-c-d" is at most this long. */
#define CAPSID__SID_MAX 64
/* Restricting SIDs in one token: the workspace's and the generic one, or
 * the read-only one. Kept fixed and small: a token that grows with the
 * number of workspaces fails with ERROR_TOO_MANY_CONTEXT_IDS (1344). */
#define CAPSID__MAX_RESTRICT 2

/* ---- capstore-win.c: capability SIDs from the capability store ---- */

/* The SIDs a job may need: its workspace's (empty when no workspace was
 * asked for), the generic one (extra writable roots and temp dirs), the
 * read-only one, and the sandbox users' (read grants). */
typedef struct capsid__caps_s {
  char workspace[CAPSID__SID_MAX];
  char generic[CAPSID__SID_MAX];
  char read_only[CAPSID__SID_MAX];
  char users[CAPSID__SID_MAX];
} capsid__caps_t;

/* Fills out from the capability store in capsid__state_dir(), creating
 * the store (with a fresh random SID domain) and the entries of roots
 * when missing: roots[0] is the workspace, the rest the extra writable
 * roots (canonical paths; n may be 0). A corrupt store is CAPSID_ECORRUPT
 * (moved aside, never silently replaced). */
int capsid__caps_get(const char* const* roots, size_t n, capsid__caps_t* out,
                     capsid_error_t* err);
/* A fresh random SID domain "S-1-5-21-a-b-c". */
int capsid__sid_domain_random(char out[CAPSID__SID_DOMAIN_MAX]);
/* "<domain>-<id>". */
void capsid__sid_of(const char* domain, uint32_t id,
                    char out[CAPSID__SID_MAX]);
/* The store's key of a canonical path: upper-cased (capsid__free it). */
char* capsid__cap_key(const char* root);

/* ---- token-win.c: the restricted token ---- */

typedef struct capsid__token_plan_s {
  size_t n;
  char sids[CAPSID__MAX_RESTRICT][CAPSID__SID_MAX];
} capsid__token_plan_t;

/* CreateRestrictedToken(DISABLE_MAX_PRIVILEGE | LUA_TOKEN |
 * WRITE_RESTRICTED) of the caller's token, restricting SIDs = the plan's
 * SIDs only, and a default DACL that lets the child use the objects it
 * creates. */
int capsid__token_create(const capsid__token_plan_t* plan, HANDLE* out,
                         capsid_error_t* err);
/* Reads the token back: it must be restricted, carry exactly the plan's
 * restricting SIDs and no privilege but SeChangeNotifyPrivilege. On a
 * mismatch fails with CAPSID_EVERIFY, naming what did not take effect. */
int capsid__token_verify(HANDLE token, const capsid__token_plan_t* plan,
                         capsid_error_t* err);
/* The string SID of token's user (token NULL: capsid's own). 0 or -1. */
int capsid__token_user_sid(HANDLE token, char out[CAPSID__SID_MAX]);

/* ---- jobobj-win.c: the job object ---- */

typedef struct capsid__jobobj_plan_s {
  uint64_t memory_limit;  /* bytes, 0 none */
  uint32_t max_processes; /* 0 none */
  uint32_t cpu_rate;      /* hard cap in 1/10000 of the machine, 0 none */
} capsid__jobobj_plan_t;

/* The job object CPU rate of a job spec's cpu_limit (CPUs) on a machine
 * with ncpus processors: cycles in 1/10000 of the whole machine, at least
 * 1; 0 (no cap) when the limit covers every processor. */
uint32_t capsid__jobobj_cpu_rate(double cpu_limit, uint32_t ncpus);

/* A job object with kill-on-close (and the plan's limits). */
int capsid__jobobj_create(const capsid__jobobj_plan_t* plan, HANDLE* out,
                          capsid_error_t* err);
/* Reads the limits back; CAPSID_EVERIFY names the ones missing. */
int capsid__jobobj_verify(HANDLE job, const capsid__jobobj_plan_t* plan,
                          capsid_error_t* err);

/* ---- spawn-win.c: creating the job's process ---- */

/* Exit status given to processes capsid kills; reported as signal 9 so
 * results read the same as on Linux. */
#define CAPSID__KILL_EXIT_CODE 137

/* What CreateProcessAsUserW is given, in UTF-16, plus the UTF-8 program
 * and cwd that error messages name. */
typedef struct capsid__spawn_s {
  WCHAR* app;
  WCHAR* cmdline;
  WCHAR* env;         /* "A=1\0B=2\0\0" */
  WCHAR* cwd;
  const char* path;   /* borrowed */
  const char* cwd8;   /* borrowed */
} capsid__spawn_t;

/* Builds the strings of a launch: batch files run through cmd.exe, the
 * offline variables are added to an offline job's environment.
 * CAPSID_ENOMEM or 0. */
int capsid__spawn_prepare(const capsid__launch_t* l, capsid__spawn_t* s);
void capsid__spawn_free(capsid__spawn_t* s);
/* Bytes of an environment block, both final NULs included. */
size_t capsid__env_block_size(const WCHAR* env);
/* An inheritable duplicate of h, or NULL. */
HANDLE capsid__inheritable(HANDLE h);
/* CreateProcessAsUserW(token), suspended, given only the three stdio
 * handles (inheritable), inside job (or, with job NULL, inside whatever
 * job the caller is in; a process in no job is refused). */
int capsid__create_process(HANDLE token, const capsid__spawn_t* s,
                           HANDLE stdio[3], HANDLE job,
                           PROCESS_INFORMATION* pi, capsid_error_t* err);

/* ---- runner-client-win.c / runner-win.c: elevated jobs ---- */

/* The runner executable, next to the program that runs capsid. */
#define CAPSID__RUNNER_EXE L"capsid-runner.exe"
/* Its named pipe's prefix; the runner opens nothing else. */
#define CAPSID__RUNNER_PIPE "\\\\.\\pipe\\capsid-runner-"

typedef struct capsid__runner_req_s {
  const capsid__spawn_t* spawn;
  const capsid__token_plan_t* token;
  int offline;                       /* which sandbox user */
} capsid__runner_req_t;

/* Starts the runner as the sandbox user (CreateProcessWithLogonW) inside
 * job with the job's stdio, hands it the request over a named pipe only
 * that user may open, and waits for its answer: the runner builds the
 * restricted token from its own token, verifies it and creates the job's
 * process. On success *pi is the runner (its exit code is the job's;
 * hThread already closed) and *overridden says whether a verification
 * failed and was let through (Wine test build only). On failure the
 * runner is killed and err holds the runner's error. */
int capsid__runner_start(const capsid__runner_req_t* rq, HANDLE stdio[3],
                         HANDLE job, PROCESS_INFORMATION* pi,
                         int* overridden, capsid_error_t* err);
/* 1 when capsid-runner.exe is next to the running program. */
int capsid__runner_exists(void);
/* The runner's side; argv[1] is the pipe. Returns its exit code: the
 * job's, or 125 when the job could not be started. */
int capsid__runner_main(int argc, char** argv);

/* ---- grant-win.c: DACL grants on the writable roots ---- */

/* The ACE a grant adds. */
typedef struct capsid__ace_plan_s {
  const char* path;
  char sid[CAPSID__SID_MAX];
  int deny;                /* deny-write instead of allow */
  int read;                /* allow read and execute only (read grants) */
} capsid__ace_plan_t;

/* 1 if acl already holds an explicit ACE equal to the wanted one. */
int capsid__acl_has(const ACL* acl, const capsid__ace_plan_t* ace);
/* Masks used for grants: read/write/execute/delete, and the write rights a
 * deny ACE removes. The allow mask leaves out FILE_DELETE_CHILD on
 * purpose: NTFS lets a holder of FILE_DELETE_CHILD on a directory delete
 * or rename any child whatever the child's own DACL says, so it would
 * defeat the deny ACE on .git. Deleting and renaming inside the roots still
 * works through the DELETE right every child inherits. */
#define CAPSID__ALLOW_MASK                                                   \
  (FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE | DELETE)
/* What the read-ACL helper grants the sandbox users' group. */
#define CAPSID__READ_MASK (FILE_GENERIC_READ | FILE_GENERIC_EXECUTE)
#define CAPSID__DENY_MASK CAPSID__DENY_WRITE_MASK
/* Ensures every ACE of the plan is on its path (skipping the ones already
 * there), then reads every path back; CAPSID_EVERIFY names a missing ACE.
 * A deny ACE's path that does not exist (a placeholder: policy.h,
 * missing_protected) is created first, as an empty directory. */
int capsid__grant_ensure(const capsid__ace_plan_t* aces, size_t n,
                         capsid_error_t* err);
/* Prelaunch's half of it: when some ACE is missing (missing carve-outs
 * are created first), starts the engine's walk on the worker pool and
 * returns 1; cb then runs on the loop thread when it is done. Returns 0
 * when every ACE is there already. The launcher's capsid__grant_ensure
 * still reads every ACE back before the job starts; the walk moves off
 * the loop thread so other jobs' output keeps flowing meanwhile. */
int capsid__grant_ahead(uv_loop_t* loop, capsid__pool_t* pool,
                        const capsid__ace_plan_t* aces, size_t n,
                        capsid__prelaunch_cb cb, void* data,
                        capsid_error_t* err);

/* Placeholders (placeholder-win.c): the missing protected paths of sb,
 * which capsid__grant_ensure created, and its existing protected
 * directories, held open without FILE_SHARE_DELETE for the job's life;
 * release closes them and removes each placeholder that is empty and
 * held by no other job. sb must outlive the hold. */
typedef struct capsid__win_placeholders_s {
  const capsid__sandbox_t* sb;
  HANDLE h[64];
  size_t n;
} capsid__win_placeholders_t;
int capsid__win_placeholders_hold(capsid__win_placeholders_t* ph,
                                  const capsid__sandbox_t* sb,
                                  capsid_error_t* err);
void capsid__win_placeholders_release(capsid__win_placeholders_t* ph);

/* Removes the explicit ACEs whose SID lies in domain ("S-1-5-21-a-b-c")
 * from old: *out is the new DACL (LocalFree it), *removed how many went.
 * Exposed for tests. */
int capsid__acl_strip(const ACL* old, const char* domain, ACL** out,
                      int* removed);
/* Uninstall: removes the store's ACEs from every root it lists and from
 * the .git, .codex and .agents beneath them, reading each DACL back.
 * Reports one line; returns the number of paths that kept an ACE. */
int capsid__grant_strip_store(const capsid__capstore_t* s,
                              capsid__report_cb cb, void* data);

/* ---- plan-win.c: what a job needs ---- */

typedef struct capsid__win_plan_s {
  capsid__token_plan_t token;
  capsid__jobobj_plan_t jobobj;
  capsid__ace_plan_t aces[16];
  size_t n_aces;
} capsid__win_plan_t;

/* Works out the plan of a launch (l->mode already resolved): capability
 * SIDs from the store (created as needed), the token's restricting SIDs,
 * the job object's limits, and the ACEs (allow on the writable roots,
 * deny-write on the protected paths, the sandbox group's in elevated
 * mode). The ACEs' paths point into l->sandbox. */
int capsid__win_plan_build(const capsid__launch_t* l, capsid__win_plan_t* pl,
                           capsid_error_t* err);

/* ---- nul-win.c: \\.\NUL for the job's SIDs ---- */

/* What a capability SID is granted on \\.\NUL: read, write, execute. */
#define CAPSID__NUL_MASK                                                     \
  (FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE)
/* Makes sure the DACL of the NUL device lets each of the token plan's
 * SIDs open it for reading and writing (an allow ACE, no inheritance, on
 * the kernel object), then reads it back. 0 when every SID is granted;
 * CAPSID_EACCES when one is not and this process may not change the
 * device's DACL (only administrators may); CAPSID_EVERIFY when the write
 * did not stick. A job is not refused for it: without the grant it is
 * more confined, not less. */
int capsid__nul_grant(const capsid__token_plan_t* plan, capsid_error_t* err);
/* Uninstall: removes the ACEs of the SID domain from the device's DACL,
 * reading it back. Reports one line; returns 1 when some stayed. */
int capsid__nul_strip(const char* domain, capsid__report_cb cb, void* data);
/* Doctor: one line saying whether this process can grant it. */
void capsid__nul_report(capsid__report_cb cb, void* data);

/* ---- helper-win.c: building blocks of the elevated mode ---- */

/* The read-ACL helper runs once per session: it holds this named mutex. */
#define CAPSID__HELPER_MUTEX L"Local\\CapsidAclHelper"

/* Takes the named mutex without waiting. CAPSID_EBUSY when another thread
 * or process holds it. A mutex abandoned by a helper that died is taken
 * over (*abandoned set): the work it left is redone, never blocked on. */
int capsid__mutex_try(const WCHAR* name, HANDLE* out, int* abandoned,
                      capsid_error_t* err);
void capsid__mutex_release(HANDLE mutex);

/* Creates the directory link (which must not exist) as a junction
 * (FSCTL_SET_REPARSE_POINT, IO_REPARSE_TAG_MOUNT_POINT) to the existing
 * absolute directory target, then reads it back (FSCTL_GET_REPARSE_POINT).
 * On any failure nothing is left at link. The elevated mode uses it as the
 * job's cwd while read ACLs are pending. */
int capsid__junction_create(const char* link, const char* target,
                            capsid_error_t* err);

/* ---- system-win.c / elevated-win.c: doctor, setup, uninstall ---- */

/* Report lines: capsid__say (sandbox/system.h). */
/* Elevated mode's part of doctor: reports its lines, returns 1 when
 * elevated jobs can run here. */
int capsid__elevated_probe(capsid__report_cb cb, void* data);
/* Elevated mode's part of setup (sandbox users and group, their secret,
 * firewall rules). */
int capsid__elevated_setup(capsid__report_cb cb, void* data,
                           capsid_error_t* err);
/* Removes it all; returns the number of things left behind. */
int capsid__elevated_uninstall(capsid__report_cb cb, void* data);

/* The read-ACL helper: holding CAPSID__HELPER_MUTEX (CAPSID_EBUSY when
 * another helper holds it: one at a time per session), grants group_sid
 * read and execute (inherited) on each of roots, reading every DACL back.
 * Elevated jobs start in a junction (capsid__junction_create) while it
 * runs, so they need not wait for it. */
int capsid__read_helper_run(const char* const* roots, size_t n,
                            const char* group_sid, capsid_error_t* err);

/* ---- users-win.c: the sandbox users and their secrets ---- */

#define CAPSID__SANDBOX_GROUP "CapsidSandboxUsers"
#define CAPSID__SANDBOX_GROUP_W L"CapsidSandboxUsers"
/* CapsidOffline, CapsidOnline. */
extern const char* const capsid__sandbox_user_names[2];
/* Creates (or resets the password of) both users, the group, the
 * membership, and writes STATE/sandbox-users.json with their SIDs and
 * DPAPI-protected passwords. Needs an administrator. */
int capsid__users_setup(capsid__report_cb cb, void* data,
                        capsid_error_t* err);
/* The password of the offline (or online) user, unprotected (capsid__free
 * it after SecureZeroMemory). */
int capsid__users_password(int offline, WCHAR** password,
                           capsid_error_t* err);
/* How many of the two users exist; the offline one's SID into sid. */
int capsid__users_probe(char offline_sid[CAPSID__SID_MAX]);
/* Deletes both users, the group and the secrets; verified by looking the
 * names up again. Returns the number left behind. */
int capsid__users_uninstall(capsid__report_cb cb, void* data);
/* The SID of a local account or group, as a string. */
int capsid__account_sid(const char* name, char out[CAPSID__SID_MAX]);
/* DPAPI (CryptProtectData, current user) of data, hex-encoded; and back.
 * Exposed for tests. */
int capsid__secret_protect(const void* data, size_t len, char** hex);
int capsid__secret_unprotect(const char* hex, void** data, size_t* len);

/* ---- verify override (tests only) ---- */

/* The Wine test build (CAPSID_WIN_TEST_OVERRIDE) lets a verification
 * failure through so the plumbing can be exercised under Wine, which
 * accepts restricted tokens, job limits and DACLs but drops them. The
 * library and capsid.exe are never compiled with it. Returns 1 when the
 * failure in err is to be ignored (and clears err). */
int capsid__verify_override(capsid_error_t* err);
/* rc, or 0 (with *overridden set) when rc is a verification failure the
 * test build lets through. */
int capsid__verify_checked(int rc, capsid_error_t* err, int* overridden);
/* 1 in the Wine test build when a test asked for unverified runs: the
 * elevated mode then starts its runner as the calling user (Wine cannot
 * log a user on). Always 0 in capsid.exe and the libraries. */
int capsid__win_test_mode(void);
/* The runner's copy of the test's switch (a no-op outside the test
 * build). */
void capsid__win_test_set_unverified(int on);
#ifdef CAPSID_WIN_TEST_OVERRIDE
extern int capsid__win_test_unverified_ok; /* set by a test */
extern int capsid__win_test_overridden;    /* failures let through */
#endif

#endif
