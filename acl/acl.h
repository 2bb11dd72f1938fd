/* The ACL engine: the internal interface.
 *
 * The engine turns a resolved sandbox (policy/policy.h) and the
 * capability identities of a workspace into a plan (pure data: which
 * principal gets which permissions on which paths), and then makes the
 * filesystem match the plan with a parallel, incremental tree walk on
 * capsid's worker pool. What it wrote is kept in a per-workspace record
 * under a state directory, so an unchanged workspace is re-checked for a
 * small fraction of a full walk and `revoke`/`uninstall` remove exactly
 * what capsid added.
 *
 * Nothing here names an OS type. A principal is a numeric id (POSIX uid or
 * gid) or a SID string (Windows); each OS backend (acl/<os>/) reads the
 * field it understands. Everything is called on one thread unless a comment
 * says "thread-safe"; the async op delivers its callbacks on the loop
 * thread.
 */
#ifndef CAPSID_ACL_H
#define CAPSID_ACL_H

#include "capsid-common.h"
#include "policy.h"
#include "pool.h"

#include <uv.h>

/* ------------------------------------------------------------------------ */
/* Principals and permissions                                                */

typedef enum {
  CAPSID__ACL_USER = 1, /* a uid, or a user SID */
  CAPSID__ACL_GROUP = 2 /* a gid, or a group/capability SID */
} capsid__acl_who_kind_t;

typedef struct capsid__acl_principal_s {
  capsid__acl_who_kind_t kind;
  uint32_t id;     /* POSIX uid/gid */
  const char* sid; /* Windows SID string ("S-1-5-21-..."); NULL on POSIX */
} capsid__acl_principal_t;

/* A principal as a person names one on the command line: on POSIX a
 * numeric uid/gid; on Windows a SID string ("S-1-5-21-...") or an account
 * name, looked up with LookupAccountNameW (acl/<os>/principal-<os>.c).
 * The SID string of *out is a new copy (capsid__acl_principal_free).
 * CAPSID_EINVAL with a message naming field (an option such as "--uid")
 * when text is none of those. */
int capsid__acl_principal_parse(const char* text, capsid__acl_who_kind_t kind,
                                const char* field,
                                capsid__acl_principal_t* out,
                                capsid_error_t* err);
/* The owner of path as a principal of kind USER: its uid, or its owner
 * SID (a new copy). */
int capsid__acl_principal_owner(const char* path,
                                capsid__acl_principal_t* out,
                                capsid_error_t* err);
/* Frees the SID copy of a principal from the two functions above. */
void capsid__acl_principal_free(capsid__acl_principal_t* p);

/* Permission bits of one entry. XCOND is setfacl's "X": execute/traverse
 * on directories, and on files only when some execute bit is already set. */
#define CAPSID__ACL_R 4u
#define CAPSID__ACL_W 2u
#define CAPSID__ACL_X 1u
#define CAPSID__ACL_XCOND 8u
/* The entry takes away the write rights W names instead of granting them:
 * a Windows deny ACE (a protected path inside a writable root, where an
 * inherited allow must not win). POSIX ACLs cannot deny: the Linux backend
 * refuses such an entry rather than read it as a grant. */
#define CAPSID__ACL_DENY 16u

/* Where an entry goes. DEFAULT entries are inherited by what is created
 * beneath a directory later (POSIX default ACL, Windows OI|CI ACE). */
#define CAPSID__ACL_ACCESS 1u
#define CAPSID__ACL_DEFAULT 2u

typedef struct capsid__acl_entry_s {
  capsid__acl_principal_t who;
  unsigned perms; /* CAPSID__ACL_R | W | X | XCOND, or W | DENY */
  unsigned scope; /* CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT */
} capsid__acl_entry_t;

/* ------------------------------------------------------------------------ */
/* The plan (pure data)                                                      */

typedef enum {
  CAPSID__ACL_T_WRITE = 1, /* a writable root: rwX + defaults */
  CAPSID__ACL_T_READ_ONLY, /* a protected path inside a writable root */
  CAPSID__ACL_T_READ,      /* a read root granted to the sandbox group */
  CAPSID__ACL_T_TRAVERSE,  /* an ancestor: x on the directory itself */
  CAPSID__ACL_T_DENY       /* a world-writable hole: deny mirror */
} capsid__acl_target_kind_t;

typedef struct capsid__acl_target_s {
  capsid__acl_target_kind_t kind;
  char* path;    /* canonical absolute */
  int recursive; /* the whole tree beneath path, else path alone */
  int optional;  /* a missing path is skipped, not an error */
  capsid__acl_entry_t* entries;
  size_t n_entries;
} capsid__acl_target_t;

/* A recursive target nested inside another one replaces it for its own
 * subtree (the outer walk does not enter it). Targets are ordered: outer
 * roots first, then what they contain. */
typedef struct capsid__acl_plan_s {
  char* key; /* names the record and the lock: the workspace root */
  capsid__acl_target_t* targets;
  size_t n_targets;
} capsid__acl_plan_t;

/* The capability identities of one workspace. */
typedef struct capsid__acl_ids_s {
  capsid__acl_principal_t workspace; /* write grants on the workspace */
  capsid__acl_principal_t owner;     /* the real owner: default entries */
  capsid__acl_principal_t users;     /* capsid-users: read grants */
  capsid__acl_principal_t read_only; /* read-only group: deny mirrors */
  /* One per extra writable root (sandbox->writable[1..first_tmp-1]), in
   * that order; when fewer are given, the workspace principal is used. */
  const capsid__acl_principal_t* roots;
  size_t n_roots;
} capsid__acl_ids_t;

/* What a path is on disk, for a Windows job plan's protected paths. */
typedef enum {
  CAPSID__ACL_PATH_MISSING = 0,
  CAPSID__ACL_PATH_FILE,
  CAPSID__ACL_PATH_DIR
} capsid__acl_path_kind_t;

typedef capsid__acl_path_kind_t (*capsid__acl_path_kind_fn)(
    const char* path);

/* Which rules a plan follows (see capsid__acl_plan_build). */
typedef enum {
  CAPSID__ACL_RULES_ENTRIES = 0, /* setfacl-like entries, any principal */
  CAPSID__ACL_RULES_WIN_JOB      /* a Windows job's ACEs, SID principals */
} capsid__acl_rules_t;

typedef struct capsid__acl_plan_in_s {
  const capsid__sandbox_t* sandbox;
  capsid__acl_ids_t ids;
  const char* const* read_roots; /* NULL-terminated, or NULL */
  const char* const* deny_dirs;  /* world-writable holes (audit), or NULL */
  capsid__acl_rules_t rules;
  /* WIN_JOB only: what each protected path is now. The caller looks, so
   * the plan stays pure data. NULL: every one is an existing directory. */
  capsid__acl_path_kind_fn path_kind;
} capsid__acl_plan_in_t;

/* Builds the plan. Pure: touches no file. Returns 0 or CAPSID_EINVAL /
 * CAPSID_ENOMEM with err naming the field.
 *
 * in->rules decide what is granted. ENTRIES (Linux jobs, and `capsid acl`
 * on both systems, whose principals are uids/gids or SIDs): rw and X on
 * the writable roots before the tmp dirs, defaults for the root's
 * principal and the owner, read-only entries on the protected paths, read
 * roots, deny mirrors and traverse on the roots' ancestors.
 *
 * WIN_JOB (a Windows job; every principal a SID): every entry is one ACE
 * inherited by files and directories (ACCESS | DEFAULT; capsid__acl_sid_
 * entries): R|W|X for its principal on every writable root, the tmp dirs
 * included; on each protected path that exists, or is a placeholder
 * (sandbox->missing_protected: made as an empty directory before the
 * job), a deny of W for the workspace and every other root principal,
 * since an inherited allow would otherwise win; and ids.users, when set,
 * is the sandbox users' group an elevated job's own access check needs:
 * R|W|X on the writable roots, or R|X on the cwd of a read-only job. No
 * owner, traverse, read-root or deny-mirror entries (a job's files
 * inherit the roots' ACEs; the job's SeChangeNotifyPrivilege bypasses
 * traverse checks; read roots are the read-ACL helper's plan). Targets are
 * not optional: a missing root is an error. A read-only job (no writable
 * root) gets no capability SID entries. The key is the workspace root, or
 * CAPSID__ACL_READ_KEY for a plan of read targets only. */
int capsid__acl_plan_build(const capsid__acl_plan_in_t* in,
                           capsid__acl_plan_t* out, capsid_error_t* err);
/* A plan of one recursive target with the given entries (benchmarks, the
 * CLI's explicit grants). */
int capsid__acl_plan_simple(const char* root,
                            const capsid__acl_entry_t* entries, size_t n,
                            capsid__acl_plan_t* out);
/* Adds traverse (--x, access only) for who on every proper ancestor of
 * path, its root included, as capsid__acl_plan_build does for the
 * workspace; an ancestor the plan has already is kept once. */
int capsid__acl_plan_add_traverse(capsid__acl_plan_t* plan, const char* path,
                                  capsid__acl_principal_t who);
/* Appends a target to a plan (whose key the caller set), or adds entries
 * to the target of that path and kind it has already (a Windows job's
 * grants of several SIDs on one path, a record's targets). The plan
 * copies path and SIDs. */
int capsid__acl_plan_add(capsid__acl_plan_t* plan,
                         capsid__acl_target_kind_t kind, const char* path,
                         int recursive, int optional,
                         const capsid__acl_entry_t* entries, size_t n);
/* The entries a SID gets on one target of a Windows job's plan, into
 * out[2]; returns how many: WRITE R|W|X; READ R|X; READ_ONLY a deny of W
 * and, on a directory (is_dir), R|X, so that revoke (which takes back a
 * target's entries) also takes back the copies of the root's grant its
 * objects inherited. All ACCESS | DEFAULT; the SID is borrowed. */
size_t capsid__acl_sid_entries(capsid__acl_target_kind_t kind,
                               const char* sid, int is_dir,
                               capsid__acl_entry_t out[2]);
/* Adds sid's entries (capsid__acl_sid_entries) for one target: recursive
 * unless a READ_ONLY target is a file, never optional. */
int capsid__acl_plan_add_sid(capsid__acl_plan_t* plan,
                             capsid__acl_target_kind_t kind,
                             const char* path, int is_dir, const char* sid);
/* The read-ACL helper's plan: r-X (and default r-x) for the sandbox users
 * group on every read root. Its key is shared by every workspace, so one
 * helper at a time holds its lock, across processes. (Windows' helper
 * grants capsid__acl_sid_entries' READ entry under the same key.) */
int capsid__acl_plan_read(const char* const* read_roots,
                          capsid__acl_principal_t users,
                          capsid__acl_plan_t* out);
#define CAPSID__ACL_READ_KEY "capsid:read-roots"
int capsid__acl_plan_copy(const capsid__acl_plan_t* src,
                          capsid__acl_plan_t* dst);
void capsid__acl_plan_free(capsid__acl_plan_t* plan);
/* A stable 64-bit digest of a target (kind, path, entries): the record
 * uses it to know whether a target changed since the last apply. */
uint64_t capsid__acl_target_digest(const capsid__acl_target_t* t);

/* ------------------------------------------------------------------------ */
/* Executing a plan                                                          */

typedef enum {
  CAPSID__ACL_APPLY = 1, /* make the tree match the plan (incremental) */
  CAPSID__ACL_REVOKE,    /* remove every entry the record says capsid wrote */
  CAPSID__ACL_STATUS     /* read only: what is granted, what drifted */
} capsid__acl_action_t;

typedef enum {
  CAPSID__ACL_PHASE_QUEUED = 0,
  CAPSID__ACL_PHASE_LOCKING, /* waiting for the workspace lock */
  CAPSID__ACL_PHASE_WALKING,
  CAPSID__ACL_PHASE_RECORDING,
  CAPSID__ACL_PHASE_DONE
} capsid__acl_phase_t;

typedef struct capsid__acl_stats_s {
  int phase;         /* capsid__acl_phase_t */
  uint64_t dirs;     /* directories examined */
  uint64_t files;    /* non-directories examined */
  uint64_t changed;  /* inodes whose ACL was written (or would be) */
  uint64_t unchanged_dirs; /* directories skipped as unchanged (record) */
  uint64_t skipped_links;  /* multiply-linked non-directories (reported) */
  uint64_t skipped_xdev;   /* other filesystems (not entered) */
  uint64_t skipped_special;/* symlinks, FIFOs, sockets, devices */
  uint64_t errors;   /* entries that could not be handled */
  int full;          /* 1: a full walk (no usable record) */
  int drifted;       /* STATUS: directories changed since the last apply */
  double elapsed_ms;
} capsid__acl_stats_t;

typedef struct capsid__acl_op_s capsid__acl_op_t;

/* Called on the loop thread with a snapshot of the stats every ~100 ms
 * while an op runs. */
typedef void (*capsid__acl_progress_cb)(const capsid__acl_stats_t* stats,
                                        void* data);

/* Reported for every multiply-linked or special inode that was skipped
 * (from a worker thread; thread-safe callers only). path is relative to
 * the target's root. */
typedef void (*capsid__acl_skip_cb)(const char* root, const char* path,
                                    const char* why, void* data);

/* What an apply does with what a job created (elevated mode's post-job
 * pass): inodes of the write targets owned by reclaim_uid are handed to
 * the owner of their target's root (chown; set-user-ID and set-group-ID
 * bits of non-directories dropped first), found in the directories the
 * walk looks at anyway. Never a symlink's target, a non-directory with
 * more than one link, or another mount. DEFER hands nothing back but
 * marks the directory of such an inode changed in the record, so the
 * next pass looks at it again. */
typedef enum {
  CAPSID__ACL_RECLAIM_NONE = 0,
  CAPSID__ACL_RECLAIM_HAND_BACK,
  CAPSID__ACL_RECLAIM_DEFER
} capsid__acl_reclaim_t;

/* The directories a watcher saw change since it last reported
 * (acl/linux/watch-linux.c): (device, inode) pairs, unsorted, may repeat.
 * Whatever changed an entry, a mode or an ACL in a directory is in it. */
typedef struct capsid__acl_touched_s {
  uint64_t (*v)[2];
  size_t n;
  size_t cap;
} capsid__acl_touched_t;

int capsid__acl_touched_add(capsid__acl_touched_t* t, uint64_t dev,
                            uint64_t ino);
void capsid__acl_touched_free(capsid__acl_touched_t* t);

typedef struct capsid__acl_opts_s {
  const char* state_dir; /* the record and the lock live in STATE/acl/ */
  /* APPLY with a usable record: NULL checks every recorded directory.
   * Set, only these recorded directories (and their recorded
   * subdirectories, poisoned ones too) are checked; every other one is
   * kept as recorded without a look. Only for a set that covers every
   * change since the record was written: a watcher's, started before the
   * apply that wrote it. Must outlive the op. */
  const capsid__acl_touched_t* touched;
  int reclaim;           /* capsid__acl_reclaim_t (APPLY only) */
  uint32_t reclaim_uid;  /* the job identity whose inodes go back */
  unsigned threads;      /* walkers at once; 0: every pool thread */
  int full;              /* ignore the record: walk everything */
  int no_wait;           /* lock held elsewhere: fail with CAPSID_EBUSY */
  capsid__acl_progress_cb progress;
  capsid__acl_skip_cb skipped;
  void* data;            /* for progress and skipped */
} capsid__acl_opts_t;

/* Completion, on the loop thread. status is 0 or a CAPSID_E* code; err
 * names the path and stage (CAPSID_STAGE_ACL) of the first failure. The op
 * is freed after the callback returns. */
typedef void (*capsid__acl_done_cb)(capsid__acl_op_t* op, int status,
                                    const capsid__acl_stats_t* stats,
                                    const capsid_error_t* err, void* data);

/* Starts action on plan (copied) with the pool's threads; returns at once.
 * On 0, cb runs exactly once, later. Work on one key is serialised across
 * threads and processes by a lock file; different keys run in parallel. */
int capsid__acl_op_start(uv_loop_t* loop, capsid__pool_t* pool,
                         capsid__acl_action_t action,
                         const capsid__acl_plan_t* plan,
                         const capsid__acl_opts_t* opts,
                         capsid__acl_done_cb cb, void* data,
                         capsid__acl_op_t** out);
/* Asks the op to stop soon; cb still comes, with CAPSID_ECANCELED unless
 * the op had already finished. What was applied stays recorded. */
void capsid__acl_op_cancel(capsid__acl_op_t* op);
/* Current counters. Thread-safe. */
void capsid__acl_op_stats(const capsid__acl_op_t* op,
                          capsid__acl_stats_t* out);

/* The blocking form (CLI, tests): a private loop and a pool of
 * opts->threads threads. */
int capsid__acl_run(capsid__acl_action_t action,
                    const capsid__acl_plan_t* plan,
                    const capsid__acl_opts_t* opts,
                    capsid__acl_stats_t* stats, capsid_error_t* err);

/* Removes every entry recorded under state_dir (all workspaces), then the
 * records: what `capsid uninstall` calls. Blocking. A record that cannot
 * be read is kept and reported in err; the others are still removed. */
int capsid__acl_remove_all(const char* state_dir, unsigned threads,
                           capsid__acl_stats_t* stats, capsid_error_t* err);

/* ------------------------------------------------------------------------ */
/* The recorded state of a workspace (what `capsid acl status` shows)        */

typedef struct capsid__acl_info_s {
  int present;  /* a record exists */
  int complete; /* the last apply finished (else a full walk is due) */
  capsid__acl_plan_t plan; /* targets and entries as last applied */
  uint64_t n_dirs;         /* directories recorded */
} capsid__acl_info_t;

/* Reads the record of key under state_dir. A missing record gives
 * present = 0 and returns 0; a corrupt one returns CAPSID_ECORRUPT. */
int capsid__acl_info(const char* state_dir, const char* key,
                     capsid__acl_info_t* out, capsid_error_t* err);
void capsid__acl_info_free(capsid__acl_info_t* info);
/* Makes grants accumulate: every target the record of plan->key lists and
 * plan lacks (same path and kind) joins plan, optional, so an apply keeps
 * what earlier applies granted instead of taking it back. The record is
 * read before the engine takes its lock: two processes adding different
 * targets to one key at the same moment can drop each other's, which the
 * next apply of either grants again. A missing or corrupt record adds
 * nothing. */
int capsid__acl_plan_keep_recorded(capsid__acl_plan_t* plan,
                                   const char* state_dir);

/* A snapshot of a workspace's recorded directories (snapshot.c): loaded
 * after an apply, it tells on the caller's thread whether any of them has
 * changed since, which is when an incremental apply would find work. */
typedef struct capsid__acl_snapshot_s {
  struct capsid__acl_record_s* rec; /* NULL: no snapshot */
  capsid__buf_t bytes;              /* the record file as loaded */
  uint64_t (*ids)[2];               /* (dev, ino) of every directory, sorted */
  size_t n_ids;
  int poisoned;                     /* a directory to look at again */
} capsid__acl_snapshot_t;

/* Fails (nonzero, out empty) when the record is missing, incomplete or
 * has more than max_dirs directories: the caller then runs the op. */
int capsid__acl_snapshot_load(const char* state_dir, const char* key,
                              size_t max_dirs, capsid__acl_snapshot_t* out);
/* 1 when every recorded directory is still the same directory with the
 * same ctime; 0 otherwise (or without a snapshot). Blocking: a stat per
 * directory. */
int capsid__acl_snapshot_unchanged(const capsid__acl_snapshot_t* s);
/* With a change watch (capsid__acl_opts_t.touched): 1 when the record
 * may hold something touched names, or has a directory to look at again,
 * or is no longer the file loaded (another op wrote it); 0 when nothing
 * the record holds changed, so the op would find nothing to do. Reads the
 * record file (no parse). */
int capsid__acl_snapshot_touched(const capsid__acl_snapshot_t* s,
                                 const char* state_dir, const char* key,
                                 const capsid__acl_touched_t* touched);
void capsid__acl_snapshot_free(capsid__acl_snapshot_t* s);

/* ------------------------------------------------------------------------ */
/* The world-writable audit                                                  */

typedef struct capsid__acl_audit_opts_s {
  /* Directories to scan; NULL: the places a job can reach (the workspace's
   * direct children, tmp dirs, HOME, every PATH entry, / and /usr one
   * level deep). */
  const char* const* dirs;
  const char* workspace;         /* for the default places; may be NULL */
  const char* const* writable;   /* writable roots: not reported */
  const uint32_t* gids;          /* groups a job holds */
  size_t n_gids;
  uint64_t budget_ms;            /* 0: 2000 */
} capsid__acl_audit_opts_t;

typedef struct capsid__acl_finding_s {
  char* path;
  int is_dir;
  const char* why; /* "mode o+w", "ACL other w", "ACL group 1234 w" ... */
} capsid__acl_finding_t;

typedef struct capsid__acl_audit_s {
  capsid__acl_finding_t* v;
  size_t n;
  size_t cap;
  uint64_t scanned;
  int timed_out; /* the budget ran out before every place was scanned */
  double elapsed_ms;
} capsid__acl_audit_t;

/* Blocking, time-boxed. Returns 0 or CAPSID_ENOMEM. */
int capsid__acl_audit(const capsid__acl_audit_opts_t* opts,
                      capsid__acl_audit_t* out);
void capsid__acl_audit_free(capsid__acl_audit_t* a);

#endif
