/* Elevated mode: everything a workspace needs before its first job, kept
 * for the life of the process.
 *
 * The first job of a workspace looks up (or allocates) its identities in
 * the capability store, makes its offline network namespace when the job
 * is offline, and starts the ACL engine's ensure-grants op on the worker
 * pool. The job waits for the op in an asynchronous state of its own (the
 * loop keeps running other jobs); jobs of the same workspace that arrive
 * meanwhile wait for the same op. Once applied, a later job whose plan has
 * the same digest launches at once: no walk, no record read. After a job,
 * the grants are re-applied incrementally, unless none of a small
 * workspace's recorded directories changed (checked on the loop thread
 * against a snapshot of the record; see capsid__postexit). */
#include "sandbox-int.h"

#include "acl.h"
#include "watch-linux.h"
#include "capstore.h"
#include "modes-linux.h"
#include "mounts-linux.h"
#include "nspin-linux.h"
#include "placeholder-linux.h"
#include "elevated-linux.h"
#include "kdenials-linux.h"
#include "net.h"
#include "system.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct waiter_s {
  capsid__prelaunch_cb cb;
  void* data;
} waiter_t;

typedef enum { WS_NEW = 0, WS_APPLYING, WS_READY } ws_state_t;

typedef struct ws_s {
  struct ws_s* next;
  uv_loop_t* loop;       /* the entry belongs to one loop's thread */
  char* key;             /* the workspace root (sandbox cwd) */
  capsid__identity_t id; /* netns_fd made on first offline job */
  size_t n_ids;          /* the workspace's and its extra roots' ids */
  uint32_t users, ro;
  unsigned running;      /* jobs launched and not yet released */
  ws_state_t state;
  uint64_t digest;       /* of the plan last applied */
  capsid__acl_plan_t plan; /* as last applied (for the post-job re-apply) */
  int have_plan;
  uint64_t pending;      /* of the plan being applied */
  capsid__acl_plan_t pending_plan;
  /* The record's directories as the last apply left them: a job that
   * changed none of them needs no re-apply after it (acl/snapshot.c). */
  capsid__acl_snapshot_t snap;
  /* What changed since the apply of the plan in force began: the
   * post-job pass looks only there (acl/linux/watch-linux.h). */
  capsid__acl_watch_t* watch;
  uint64_t used;   /* when a job last started here (use_clock) */
  unsigned fixups; /* post-job ops running: the snapshot may be behind */
  waiter_t* waiters;
  size_t n_waiters;
} ws_t;

/* A workspace with at most this many recorded directories has its
 * post-job check made on the loop thread (a stat each, ~2-5 us); a larger
 * one always gets the incremental op on the pool. */
#define SNAPSHOT_MAX_DIRS 64

/* Entries are per (loop, workspace): an op's callbacks come on the loop
 * that started it, so a job of another runtime (another thread) never
 * waits on it. The list itself is shared, under the lock. */
static ws_t* workspaces;
static pthread_mutex_t ws_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t use_clock; /* orders ws_t.used */

/* A watch is a fanotify group, and a user has 128 of those on the whole
 * machine (fs.fanotify.max_user_groups), shared with every other program
 * it runs: a runtime that kept one per workspace took them all after 128
 * workspaces (the elevated smoke suite did), and other programs' fanotify
 * then failed. One loop keeps at most this many; a workspace whose watch
 * goes checks its recorded directories after each job instead, as one
 * without fanotify does: correct, only slower for a large tree. */
#define WATCH_MAX 16


/* Stops the watch of w (on w's loop thread). The snapshot was loaded
 * whole for the watch's events; statting it all after each job would
 * hold the loop, so it goes too and the next post-job op looks itself. */
static void watch_drop(ws_t* w) {
  capsid__acl_watch_free(w->watch);
  w->watch = NULL;
  capsid__acl_snapshot_free(&w->snap);
}


/* Makes room on self's loop for one more watch: past WATCH_MAX, the
 * watch of the workspace whose jobs started least recently goes. Only
 * this loop's entries: another loop's thread may be reading its own. */
static void watch_make_room(const ws_t* self) {
  ws_t* it;
  ws_t* oldest = NULL;
  unsigned n = 0;

  pthread_mutex_lock(&ws_lock);
  for (it = workspaces; it != NULL; it = it->next) {
    if (it->loop != self->loop || it == self || it->watch == NULL)
      continue;
    n++;
    if (oldest == NULL || it->used < oldest->used)
      oldest = it;
  }
  pthread_mutex_unlock(&ws_lock);
  if (n >= WATCH_MAX && oldest != NULL)
    watch_drop(oldest);
}


static int usable_cached;

int capsid__elevated_usable(capsid_error_t* why) {
  capsid__capstore_t store;
  int rc;

  if (usable_cached)
    return 1;
  if (geteuid() != 0) {
    capsid__error_set(why, CAPSID_EPERM, CAPSID_STAGE_CAPABILITY, EPERM,
                      NULL, "mode",
                      "elevated mode needs capsid to run as root");
    return 0;
  }
  if (capsid__landlock_missing()) {
    capsid__error_set(why, CAPSID_ENOTSUP, CAPSID_STAGE_LANDLOCK, 0, NULL,
                      "mode", "elevated mode needs Landlock");
    return 0;
  }
  rc = capsid__capstore_load(capsid__state_dir(), &store, why);
  capsid__capstore_free(&store);
  if (rc != 0)
    return 0;
  usable_cached = 1;
  return 1;
}


/* What prelaunch hands an elevated job's launch and post-job pass: the
 * workspace entry it found, so neither looks it up by path again. */
struct capsid__prep_s {
  ws_t* ws;
};


/* Looked up once per job, by capsid__prelaunch. */
static ws_t* ws_find(uv_loop_t* loop, const char* key) {
  ws_t* w;

  pthread_mutex_lock(&ws_lock);
  for (w = workspaces; w != NULL; w = w->next)
    if (w->loop == loop && strcmp(w->key, key) == 0)
      break;
  pthread_mutex_unlock(&ws_lock);
  return w;
}


/* 1 while the entry a job holds is still listed: uninstall forgets every
 * workspace (capsid__elevated_forget_all), and a job's entry must not be
 * used after that. A pointer check, not a lookup by path. */
static int ws_known(const ws_t* w) {
  ws_t* it;

  if (w == NULL)
    return 0;
  pthread_mutex_lock(&ws_lock);
  for (it = workspaces; it != NULL && it != w; it = it->next)
    ;
  pthread_mutex_unlock(&ws_lock);
  return it != NULL;
}


/* The identities of the workspace and its extra roots, from the store. */
static int ws_identities(ws_t* w, const capsid__sandbox_t* sb,
                         capsid_error_t* err) {
  const char* paths[CAPSID__MAX_GROUPS];
  uint32_t ids[CAPSID__MAX_GROUPS];
  capsid__capstore_t store;
  size_t n = 1, i;
  int rc;

  paths[0] = w->key;
  for (i = 1; i < sb->first_tmp && n < CAPSID__MAX_GROUPS - 2; i++)
    paths[n++] = sb->writable.v[i];
  if (sb->first_tmp > CAPSID__MAX_GROUPS - 2)
    return capsid__error_set(err, CAPSID_ERANGE, CAPSID_STAGE_CAPABILITY, 0,
                             NULL, "writable_roots",
                             "at most %d extra writable roots",
                             CAPSID__MAX_GROUPS - 3);
  rc = capsid__capstore_ensure(capsid__state_dir(), paths, n, ids, &store,
                               err);
  if (rc != 0)
    return rc;
  w->users = CAPSID__CAP_USERS(&store);
  w->ro = CAPSID__CAP_READ_ONLY(&store);
  capsid__capstore_free(&store);
  /* The workspace's own gid as the primary group: what a job creates
   * belongs to a group no other workspace holds (with capsid-users as
   * the primary, a 0640 file of A was readable by every workspace).
   * capsid-users stays a supplementary group for the read roots. */
  w->id.uid = ids[0];
  w->id.gid = ids[0];
  w->id.n_groups = 0;
  for (i = 0; i < n; i++)
    w->id.groups[w->id.n_groups++] = ids[i];
  w->n_ids = n;
  w->id.groups[w->id.n_groups++] = w->users;
  w->id.groups[w->id.n_groups++] = w->ro;
  return 0;
}


/* A network namespace of the workspace's own with its loopback up, or an
 * IPC namespace of its own: the one a former process pinned, else a new
 * one from the one namespace maker (net.h), pinned for the next
 * (nspin-linux.c). */
static int make_ns(const ws_t* w, unsigned kind, int* out,
                   capsid_error_t* err) {
  const char* what = kind == CAPSID__NS_NET ? "network" : "IPC";
  int stage = kind == CAPSID__NS_NET ? CAPSID_STAGE_NETNS : CAPSID_STAGE_SPAWN;
  int e;

  e = capsid__nspin_get(capsid__state_dir(), w->id.uid, w->key, kind, out);
  if (e != 0)
    return capsid__error_set(err, CAPSID_ECONFINE, stage, e, NULL, NULL,
                             "cannot make the workspace's %s namespace",
                             what);
  return 0;
}


/* Is path one of the names the policy protects in every root (.git,
 * .codex, .agents: policy/policy.c) directly beneath a root of sb, rather
 * than a carve-out, which the plan names whether it exists or not? */
static int auto_protected(const capsid__sandbox_t* sb, const char* path) {
  static const char* const names[] = {".git", ".codex", ".agents"};
  const char* slash = strrchr(path, '/');
  size_t i, len;

  if (slash == NULL || capsid__strv_contains(&sb->missing_protected, path))
    return 0;
  len = (size_t)(slash - path);
  for (i = 0; i < CAPSID__ARRAY_SIZE(names); i++)
    if (strcmp(slash + 1, names[i]) == 0)
      break;
  if (i == CAPSID__ARRAY_SIZE(names))
    return 0;
  for (i = 0; i < sb->first_tmp; i++)
    if (strlen(sb->writable.v[i]) == len &&
        strncmp(sb->writable.v[i], path, len) == 0)
      return 1;
  return 0;
}


/* The protected paths the plan names: a running job's placeholder of
 * .git, .codex or .agents counts as what it stands for, a missing path.
 * Counted as existing (issue 17), it added a target to the plan while
 * that job ran and took it away after, and every such change of plan
 * walked the whole root again: a job beside a running one in a 1M-file
 * workspace re-walked it all. The placeholder keeps its read-only bind
 * (the policy still lists it) and the ACL every new directory inherits;
 * the record names none (smoke-protect). v borrows sb's strings. */
static int plan_protected(const capsid__sandbox_t* sb, capsid__strv_t* out) {
  size_t i;

  memset(out, 0, sizeof(*out));
  out->v = capsid__calloc(sb->protected_paths.n + 1, sizeof(*out->v));
  if (out->v == NULL)
    return CAPSID_ENOMEM;
  for (i = 0; i < sb->protected_paths.n; i++)
    if (!auto_protected(sb, sb->protected_paths.v[i]) ||
        !capsid__placeholder_is(sb->protected_paths.v[i]))
      out->v[out->n++] = sb->protected_paths.v[i];
  out->cap = sb->protected_paths.n + 1;
  return 0;
}


static int build_plan(ws_t* w, const capsid__sandbox_t* sb,
                      capsid__acl_plan_t* plan, uint64_t* digest,
                      capsid_error_t* err) {
  capsid__acl_principal_t roots[CAPSID__MAX_GROUPS];
  capsid__acl_plan_in_t in;
  capsid__sandbox_t view = *sb;
  struct stat st;
  size_t i;
  int rc;

  rc = plan_protected(sb, &view.protected_paths);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, NULL, NULL, NULL);
  memset(&in, 0, sizeof(in));
  in.sandbox = &view;
  in.ids.workspace.kind = CAPSID__ACL_USER;
  in.ids.workspace.id = w->id.uid;
  /* The owner of the workspace keeps full access to what jobs create. */
  in.ids.owner.kind = CAPSID__ACL_USER;
  in.ids.owner.id = stat(w->key, &st) == 0 ? st.st_uid : 0;
  in.ids.users.kind = CAPSID__ACL_GROUP;
  in.ids.users.id = w->users;
  in.ids.read_only.kind = CAPSID__ACL_GROUP;
  in.ids.read_only.id = w->ro;
  for (i = 1; i < w->n_ids; i++) {
    roots[i - 1].kind = CAPSID__ACL_GROUP;
    roots[i - 1].id = w->id.groups[i];
    roots[i - 1].sid = NULL;
  }
  in.ids.roots = roots;
  in.ids.n_roots = w->n_ids - 1;
  rc = capsid__acl_plan_build(&in, plan, err);
  capsid__free(view.protected_paths.v); /* the strings are sb's */
  if (rc != 0)
    return rc;
  /* A carve-out may be a file: it is one inode, not a tree to walk. */
  for (i = 0; i < plan->n_targets; i++)
    if (plan->targets[i].recursive && stat(plan->targets[i].path, &st) == 0 &&
        !S_ISDIR(st.st_mode))
      plan->targets[i].recursive = 0;
  *digest = 1469598103934665603ull;
  for (i = 0; i < plan->n_targets; i++)
    *digest = (*digest ^ capsid__acl_target_digest(&plan->targets[i])) *
              1099511628211ull;
  return 0;
}


static void notify(ws_t* w, int status, const capsid_error_t* err) {
  waiter_t* v = w->waiters;
  size_t n = w->n_waiters, i;

  w->waiters = NULL;
  w->n_waiters = 0;
  for (i = 0; i < n; i++)
    v[i].cb(v[i].data, status, err);
  capsid__free(v);
}


/* After an apply of the plan in force: what the record now says. */
static void snapshot_reload(ws_t* w) {
  capsid__acl_snapshot_free(&w->snap);
  /* With a watch, the snapshot is compared with its events, not statted:
   * any size will do. */
  capsid__acl_snapshot_load(capsid__state_dir(), w->key,
                            w->watch != NULL ? SIZE_MAX : SNAPSHOT_MAX_DIRS,
                            &w->snap);
}


static void acl_done(capsid__acl_op_t* op, int status,
                     const capsid__acl_stats_t* stats,
                     const capsid_error_t* err, void* data) {
  ws_t* w = data;

  (void)op;
  (void)stats;
  if (status == 0) {
    w->state = WS_READY;
    w->digest = w->pending;
    if (w->have_plan)
      capsid__acl_plan_free(&w->plan);
    w->have_plan = capsid__acl_plan_copy(&w->pending_plan, &w->plan) == 0;
    snapshot_reload(w);
  } else {
    w->state = WS_NEW; /* the next job tries again */
  }
  notify(w, status, err);
}


static int add_waiter(ws_t* w, capsid__prelaunch_cb cb, void* data) {
  waiter_t* grown =
      capsid__realloc(w->waiters, (w->n_waiters + 1) * sizeof(*grown));

  if (grown == NULL)
    return CAPSID_ENOMEM;
  grown[w->n_waiters].cb = cb;
  grown[w->n_waiters].data = data;
  w->waiters = grown;
  w->n_waiters++;
  return 0;
}


/* The state directory holds the capability store and the ACL records
 * root capsid acts on: it must never be granted to a workspace identity.
 * A writable root that contains it (or lies inside it) would be. */
static int state_dir_apart(const capsid__sandbox_t* sb, capsid_error_t* err) {
  char real[PATH_MAX];
  const char* dir = capsid__state_dir();
  size_t i;

  if (capsid__state_dir_real(real, sizeof(real)))
    dir = real;
  for (i = 0; i < sb->first_tmp && i < sb->writable.n; i++)
    if (capsid__path_is_within(dir, sb->writable.v[i]) ||
        capsid__path_is_within(sb->writable.v[i], dir))
      return capsid__error_set(
          err, CAPSID_EPERM, CAPSID_STAGE_POLICY, 0, sb->writable.v[i],
          i == 0 ? "cwd" : "writable_roots",
          "the writable root %s and capsid's state directory %s overlap: an "
          "elevated job would be granted capsid's own records (move "
          "CAPSID_STATE_DIR out of the workspace)",
          sb->writable.v[i], dir);
  return 0;
}


void capsid__prep_free(capsid__prep_t* prep) {
  capsid__free(prep); /* the entry itself is the workspace's, kept */
}


int capsid__prelaunch(uv_loop_t* loop, capsid__pool_t* pool,
                      const capsid__sandbox_t* sb, capsid_mode_t* mode,
                      capsid__prep_t** prep, capsid__prelaunch_cb cb,
                      void* data, capsid_error_t* err) {
  capsid_error_t why = {0};
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  uint64_t digest = 0;
  ws_t* w;
  int rc;

  *prep = NULL;
  if (*mode == CAPSID_MODE_AUTO)
    *mode = capsid__elevated_usable(&why) ? CAPSID_MODE_ELEVATED
                                          : capsid__unprivileged_auto();
  else if (*mode == CAPSID_MODE_ELEVATED && !capsid__elevated_usable(&why)) {
    capsid__error_move(err, &why);
    return err->code;
  }
  capsid__error_free(&why);
  if (*mode != CAPSID_MODE_ELEVATED)
    return 0;
  if ((rc = state_dir_apart(sb, err)) != 0)
    return rc;
  if (pool == NULL)
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_ACL, 0, NULL,
                             NULL, "no worker pool for the ACL grants");

  w = ws_find(loop, sb->cwd);
  if (w == NULL) {
    w = capsid__calloc(1, sizeof(*w));
    if (w == NULL || (w->key = capsid__strdup(sb->cwd)) == NULL) {
      capsid__free(w);
      return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_CAPABILITY,
                               0, NULL, NULL, NULL);
    }
    w->id.netns_fd = -1;
    w->id.ipcns_fd = -1;
    w->loop = loop;
    rc = ws_identities(w, sb, err);
    if (rc != 0) {
      capsid__free(w->key);
      capsid__free(w);
      return rc;
    }
    pthread_mutex_lock(&ws_lock);
    w->next = workspaces;
    workspaces = w;
    pthread_mutex_unlock(&ws_lock);
  }
  w->used = atomic_fetch_add(&use_clock, 1) + 1;
  *prep = capsid__malloc(sizeof(**prep));
  if (*prep == NULL)
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_CAPABILITY, 0,
                             NULL, NULL, NULL);
  (*prep)->ws = w;
  if (!sb->network && w->id.netns_fd < 0) {
    rc = make_ns(w, CAPSID__NS_NET, &w->id.netns_fd, err);
    if (rc != 0)
      return rc;
  }
  /* Every job, online too: SysV IPC and message queues per workspace. */
  if (w->id.ipcns_fd < 0) {
    rc = make_ns(w, CAPSID__NS_IPC, &w->id.ipcns_fd, err);
    if (rc != 0)
      return rc;
  }
  if (w->state == WS_APPLYING)
    return add_waiter(w, cb, data) == 0 ? 1 : CAPSID_ENOMEM;

  rc = build_plan(w, sb, &plan, &digest, err);
  if (rc != 0)
    return rc;
  if (w->state == WS_READY && digest == w->digest) {
    capsid__acl_plan_free(&plan);
    return 0; /* unchanged: nothing to walk */
  }
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = capsid__state_dir();
  w->pending = digest;
  w->state = WS_APPLYING;
  capsid__acl_snapshot_free(&w->snap); /* of a plan no longer in force */
  capsid__acl_watch_free(w->watch); /* before the apply: it sees the rest */
  w->watch = NULL;
  watch_make_room(w);
  if (capsid__acl_watch_start(&plan, &w->watch) != 0)
    w->watch = NULL;
  rc = add_waiter(w, cb, data);
  if (rc == 0)
    rc = capsid__acl_op_start(loop, pool, CAPSID__ACL_APPLY, &plan, &opts,
                              acl_done, w, NULL);
  capsid__acl_plan_free(&w->pending_plan);
  w->pending_plan = plan; /* kept until the op is done */
  if (rc != 0) {
    w->state = WS_NEW;
    capsid__free(w->waiters);
    w->waiters = NULL;
    w->n_waiters = 0;
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, sb->cwd, NULL,
                             "cannot start the ACL grants");
  }
  return 1;
}


typedef struct fixup_s {
  capsid__prelaunch_cb cb;
  void* data;
  ws_t* w;
  uint64_t digest; /* of the plan the op applied */
  capsid__acl_touched_t touched;
} fixup_t;


static void fixup_done(capsid__acl_op_t* op, int status,
                       const capsid__acl_stats_t* stats,
                       const capsid_error_t* err, void* data) {
  fixup_t* f = data;

  (void)op;
  (void)stats;
  if (ws_known(f->w) && f->w->fixups > 0)
    f->w->fixups--;
  /* Only while that plan is still the one in force: a newer apply
   * reloads the snapshot itself when it is done. */
  if (status == 0 && f->w->state == WS_READY && f->w->digest == f->digest)
    snapshot_reload(f->w);
  if (status != 0 && ws_known(f->w))
    capsid__acl_watch_lost(f->w->watch); /* what it drained goes unchecked */
  f->cb(f->data, status, err);
  capsid__acl_touched_free(&f->touched);
  capsid__free(f);
}


/* The post-job re-apply of elevated mode's grants: 0 when there is
 * nothing to do, 1 when cb follows. */
static int fixup_start(uv_loop_t* loop, capsid__pool_t* pool,
                       const capsid__sandbox_t* sb, capsid_mode_t mode,
                       const capsid__prep_t* prep, capsid__prelaunch_cb cb,
                       void* data) {
  capsid__acl_opts_t opts;
  fixup_t* f;
  ws_t* w = prep != NULL ? prep->ws : NULL;

  memset(&opts, 0, sizeof(opts));
  if (mode != CAPSID_MODE_ELEVATED || pool == NULL || sb->cwd == NULL)
    return 0;
  if (!ws_known(w) || w->state != WS_READY || !w->have_plan)
    return 0;
  /* Nothing created, removed or renamed in any recorded directory: the
   * op would find every directory unchanged and write nothing. */
  if (w->watch == NULL && capsid__acl_snapshot_unchanged(&w->snap))
    return 0;
  f = capsid__calloc(1, sizeof(*f));
  if (f == NULL)
    return 0;
  if (w->watch != NULL &&
      capsid__acl_watch_drain(w->watch, &f->touched) == 0) {
    /* The same answer from the watch's events, whatever the size. */
    if (w->fixups == 0 &&
        !capsid__acl_snapshot_touched(&w->snap, capsid__state_dir(), w->key,
                                      &f->touched)) {
      capsid__acl_touched_free(&f->touched);
      capsid__free(f);
      return 0;
    }
    opts.touched = &f->touched;
  }
  f->cb = cb;
  f->data = data;
  f->w = w;
  f->digest = w->digest;
  /* Incremental: the record lets the engine skip every directory the job
   * did not change; in those it did, files whose ACL a create mode masked
   * get the plan's entries (and an rwx mask) back, and what the job
   * created is handed to the owner of its root (chown, set-id bits
   * dropped), so the owner can chmod it; the workspace keeps its ACL
   * grant. While another job of the workspace still runs, its fresh
   * files stay its own (a script it is about to chmod): the engine marks
   * their directories for the next pass instead. */
  opts.state_dir = capsid__state_dir();
  opts.reclaim = w->running == 0 ? CAPSID__ACL_RECLAIM_HAND_BACK
                                 : CAPSID__ACL_RECLAIM_DEFER;
  opts.reclaim_uid = w->id.uid;
  if (capsid__acl_op_start(loop, pool, CAPSID__ACL_APPLY, &w->plan, &opts,
                           fixup_done, f, NULL) != 0) {
    capsid__acl_watch_lost(w->watch);
    capsid__acl_touched_free(&f->touched);
    capsid__free(f);
    return 0;
  }
  w->fixups++;
  return 1;
}


/* A job whose result waits for the kernel's report of its refusals. */
typedef struct settle_s {
  capsid__work_t work;
  uv_loop_t* loop;
  capsid__pool_t* pool;
  const capsid__sandbox_t* sb;
  capsid_mode_t mode;
  const capsid__prep_t* prep;
  capsid__prelaunch_cb cb;
  void* data;
} settle_t;


static void settle_work(capsid__work_t* work) {
  settle_t* s = work->data;

  capsid__kdenials_wait(s->sb);
}


static void settle_done(capsid__work_t* work, int status) {
  settle_t* s = work->data;

  /* Canceled: the pool is closing, and starts nothing more. */
  if (status != 0 || fixup_start(s->loop, s->pool, s->sb, s->mode, s->prep,
                                 s->cb, s->data) == 0)
    s->cb(s->data, 0, NULL);
  capsid__free(s);
}


int capsid__postexit(uv_loop_t* loop, capsid__pool_t* pool,
                     const capsid__sandbox_t* sb, capsid_mode_t mode,
                     const capsid__prep_t* prep, capsid__prelaunch_cb cb,
                     void* data) {
  settle_t* s;

  /* The kernel's records of a refusal come asynchronously: a job that
   * had one waits, a bounded time, for its Landlock domain's last record
   * (kdenials-linux.c), on the pool, so no other job of the loop waits
   * with it. A job without one (nearly every job) takes no pool hop.
   * Without a pool or memory the result lists what came so far. */
  if (pool == NULL || !capsid__kdenials_coming(sb) ||
      (s = capsid__calloc(1, sizeof(*s))) == NULL)
    return fixup_start(loop, pool, sb, mode, prep, cb, data);
  s->loop = loop;
  s->pool = pool;
  s->sb = sb;
  s->mode = mode;
  s->prep = prep;
  s->cb = cb;
  s->data = data;
  s->work.work_cb = settle_work;
  s->work.done_cb = settle_done;
  s->work.data = s;
  capsid__pool_submit(pool, &s->work);
  return 1;
}


int capsid__elevated_identity(const capsid__prep_t* prep,
                              const capsid__sandbox_t* sb,
                              capsid__identity_t* out, capsid_error_t* err) {
  ws_t* w = prep != NULL ? prep->ws : NULL;

  if (!ws_known(w) || w->state != WS_READY)
    return capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_CAPABILITY,
                             0, sb->cwd, NULL,
                             "the workspace's grants are not in place");
  *out = w->id;
  if (sb->network)
    out->netns_fd = -1;
  out->running = w;
  w->running++;
  return 0;
}


void capsid__elevated_release(capsid__identity_t* id) {
  ws_t* w = id->running;

  if (w == NULL)
    return;
  /* Still known (uninstall forgets every workspace). The count itself is
   * only used on the loop thread that launched the job. */
  if (ws_known(w) && w->running > 0)
    w->running--;
  id->running = NULL;
}


/* Raw system calls, not libc's wrappers: those apply the change to every
 * thread of the process, and the clone child shares capsid's memory, so
 * glibc took its thread-list lock and sent each of capsid's threads a
 * signal (six tgkill, failing with ESRCH, and a lock per job in a child
 * that must take none). The child is a process of its own: the call
 * changes exactly it. */
int capsid__identity_child(const capsid__identity_t* id) {
  if (syscall(SYS_setgroups, id->n_groups, id->groups) != 0)
    return errno;
  if (syscall(SYS_setresgid, id->gid, id->gid, id->gid) != 0)
    return errno;
  if (syscall(SYS_setresuid, id->uid, id->uid, id->uid) != 0)
    return errno;
  return 0;
}


/* Frees an entry already taken off the list. */
static void ws_free(ws_t* w) {
  if (w->id.netns_fd >= 0)
    close(w->id.netns_fd);
  if (w->id.ipcns_fd >= 0)
    close(w->id.ipcns_fd);
  capsid__free(w->waiters);
  capsid__free(w->key);
  if (w->have_plan)
    capsid__acl_plan_free(&w->plan);
  capsid__acl_plan_free(&w->pending_plan);
  capsid__acl_snapshot_free(&w->snap);
  capsid__acl_watch_free(w->watch);
  capsid__free(w);
}


void capsid__elevated_forget_all(void) {
  ws_t* w;

  pthread_mutex_lock(&ws_lock);
  while ((w = workspaces) != NULL) {
    workspaces = w->next;
    ws_free(w);
  }
  pthread_mutex_unlock(&ws_lock);
  usable_cached = 0;
}


void capsid__sandbox_loop_closed(uv_loop_t* loop) {
  ws_t** link;
  ws_t* w;

  /* Another runtime on the same loop may still be using an entry (an
   * apply, a job, a post-job pass): that one stays. An idle one of it
   * goes, and is made again by its next job (the record keeps that
   * apply incremental). */
  pthread_mutex_lock(&ws_lock);
  for (link = &workspaces; (w = *link) != NULL;) {
    if (w->loop == loop && w->state != WS_APPLYING && w->running == 0 &&
        w->fixups == 0 && w->n_waiters == 0) {
      *link = w->next;
      ws_free(w);
    } else {
      link = &w->next;
    }
  }
  pthread_mutex_unlock(&ws_lock);
}
