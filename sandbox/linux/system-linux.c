/* What this Linux machine offers (doctor), and elevated mode's set-up and
 * uninstall. See sandbox/system.h. */
#include "system.h"

#include "acl.h"
#include "capstore.h"
#include "cgroup-linux.h"
#include "elevated-linux.h"
#include "handback-linux.h"
#include "kdenials-linux.h"
#include "landlock-linux.h"
#include "net.h"
#include "nspin-linux.h"
#include "seccomp-linux.h"
#include "userns-linux.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* POSIX ACLs work where reading the access ACL answers "none" (ENODATA)
 * or an ACL, and not EOPNOTSUPP. */
static int acl_supported(const char* path) {
  char buf[256];
  ssize_t n = getxattr(path, "system.posix_acl_access", buf, sizeof(buf));
  return n >= 0 || errno == ENODATA;
}


capsid_mode_t capsid__system_probe(const char* workspace,
                                   capsid__report_cb cb, void* data) {
  const capsid__cgroup_layout_t* lo = capsid__cgroup_layout();
  capsid_error_t err = {0};
  char cwd[PATH_MAX];
  capsid__capstore_t store;
  int abi = capsid__landlock_abi(), userns = capsid__userns_available();
  int seccomp_ok, acl_ok, setup_ok, root = geteuid() == 0, rc;
  const char* ws = workspace;

  if (ws == NULL)
    ws = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
  if (abi > 0)
    capsid__say(cb, data, "landlock", 1, "ABI %d (filesystem%s%s)", abi,
        abi >= 4 ? ", TCP bind/connect" : "",
        abi >= 6 ? ", abstract-unix and signal scopes" : "");
  else
    capsid__say(cb, data, "landlock", 0, "not enabled in this kernel");
  capsid__kdenials_doctor(cb, data);
  capsid__say(cb, data, "user namespaces", userns,
      userns ? "allowed: user, mount, pid and network namespaces"
             : "blocked (AppArmor restriction, user.max_user_namespaces=0 "
               "or a container's seccomp policy)");
  seccomp_ok = capsid__seccomp_filter(0, &err) != NULL;
  capsid__say(cb, data, "seccomp", seccomp_ok, "%s",
      seccomp_ok ? "filter built (libseccomp) and installable"
                 : (err.message ? err.message : "unavailable"));
  capsid__error_free(&err);
  capsid__say(cb, data, "cgroups", lo->writable,
      "layout %s%s%s%s; %s", lo->name, lo->v2_root[0] ? ", v2 at " : "",
      lo->v2_root[0] ? lo->v2_root : "",
      lo->controllers_v2 ? " (memory, pids, cpu)"
      : lo->v1_root[0][0] ? ", memory/pids/cpu through v1"
                          : "",
      lo->writable ? "jobs get cgroups (limits, cgroup.kill)"
                   : "not writable here: limits fall back to setrlimit");
  acl_ok = acl_supported(ws);
  capsid__say(cb, data, "posix acl", acl_ok, "%s on the filesystem of %s",
      acl_ok ? "supported" : "NOT supported", ws);

  rc = capsid__capstore_load(capsid__state_dir(), &store, &err);
  setup_ok = rc == 0;
  if (rc == 0)
    capsid__say(cb, data, "setup", 1, "%s: %zu workspace identities, range %u-%u",
        capsid__state_dir(), store.n_workspaces, (unsigned)store.first,
        (unsigned)(store.first + store.count - 1));
  else
    capsid__say(cb, data, "setup", 0, "%s", err.message ? err.message : "not set up");
  capsid__capstore_free(&store);
  capsid__error_free(&err);

  capsid__say(cb, data, "mode elevated", setup_ok && root && acl_ok && abi > 0,
      "%s", !setup_ok ? "needs `capsid setup` (as root)"
            : !root   ? "needs capsid to run as root"
            : !acl_ok ? "needs POSIX ACLs on the workspace's filesystem"
            : abi <= 0 ? "needs Landlock"
                       : "available");
  capsid__say(cb, data, "mode unprivileged", userns && abi > 0, "%s",
      !userns    ? "needs user namespaces (--mode unprivileged is refused)"
      : abi <= 0 ? "needs Landlock (--mode unprivileged is refused)"
                 : "available");
  capsid__say(cb, data, "mode landlock-only", abi > 0, "%s",
      abi > 0 ? "available (auto's fallback, said on stderr: protected "
                "paths, private /tmp, hidden /run and IPC are not enforced)"
              : "needs Landlock");
  if (setup_ok && root && acl_ok && abi > 0)
    return CAPSID_MODE_ELEVATED;
  if (userns && abi > 0)
    return CAPSID_MODE_UNPRIVILEGED;
  if (abi > 0)
    return CAPSID_MODE_LANDLOCK_ONLY;
  return CAPSID_MODE_NONE;
}


/* What setup made outside the state directory (the cgroup parents),
 * one path a line in STATE/created: uninstall removes those and only
 * those, so a folder another install made and uses stays. */
#define CREATED_FILE "created"


static int created_has(const char* path) {
  char* file = capsid__sprintf("%s/" CREATED_FILE, capsid__state_dir());
  char line[PATH_MAX + 2];
  FILE* f = file != NULL ? fopen(file, "re") : NULL;
  int found = 0;

  while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    found = strcmp(line, path) == 0;
  }
  if (f != NULL)
    fclose(f);
  capsid__free(file);
  return found;
}


static void created_add(const char* path) {
  char* file = capsid__sprintf("%s/" CREATED_FILE, capsid__state_dir());
  FILE* f = file != NULL ? fopen(file, "ae") : NULL;

  if (f != NULL) {
    fprintf(f, "%s\n", path);
    fclose(f);
  }
  capsid__free(file);
}


/* The state directory lists every workspace and its uid: root's alone
 * (jobs also find it hidden in their mount namespace). */
static int make_state_dir(const char* path, capsid__report_cb cb,
                          void* data) {
  struct stat st;

  if (mkdir(path, 0700) != 0 && errno != EEXIST) {
    capsid__say(cb, data, "state directory", 0, "cannot create %s: %s",
                path, strerror(errno));
    return capsid__translate_os_error(errno);
  }
  if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
      (st.st_uid != 0 && chown(path, 0, 0) != 0) ||
      ((st.st_mode & 07777) != 0700 && chmod(path, 0700) != 0)) {
    capsid__say(cb, data, "state directory", 0,
                "%s is not a directory capsid can make root's alone", path);
    return CAPSID_EPERM;
  }
  capsid__say(cb, data, "state directory", 1, "%s (root only, 0700)", path);
  return 0;
}


/* A cgroup parent: made and recorded, or kept (another install's, or
 * this one's from an earlier setup). */
static void make_cgroup_parent(const char* path, capsid__report_cb cb,
                               void* data) {
  if (mkdir(path, 0755) == 0) {
    created_add(path);
    capsid__say(cb, data, "cgroup parent", 1, "created %s", path);
  } else if (errno == EEXIST) {
    capsid__say(cb, data, "cgroup parent", 1,
                "kept %s (exists; %s)", path,
                created_has(path) ? "made by this install's setup"
                                  : "not made by this setup: uninstall "
                                    "leaves it");
  } else {
    capsid__say(cb, data, "cgroup parent", 0, "cannot create %s: %s", path,
                strerror(errno));
  }
}


int capsid__system_setup(capsid__report_cb cb, void* data,
                         capsid_error_t* err) {
  const capsid__cgroup_layout_t* lo = capsid__cgroup_layout();
  const char* dir = capsid__state_dir();
  capsid__capstore_t store;
  capsid_error_t lerr = {0};
  int rc, i;

  if (geteuid() != 0)
    return capsid__error_set(err, CAPSID_EPERM, CAPSID_STAGE_NONE, EPERM,
                             NULL, NULL,
                             "setup needs root (it allocates identities "
                             "and grants ACLs to them)");
  rc = make_state_dir(dir, cb, data);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_NONE, errno, dir, NULL,
                             "cannot create the state directory");
  rc = capsid__capstore_load(dir, &store, &lerr);
  if (rc == 0) {
    capsid__say(cb, data, "identities", 1,
        "kept the capability store: %zu workspaces, range %u-%u",
        store.n_workspaces, (unsigned)store.first,
        (unsigned)(store.first + store.count - 1));
  } else {
    if (rc == CAPSID_ECORRUPT)
      capsid__say(cb, data, "identities", 0, "%s", lerr.message);
    capsid__capstore_init(&store, CAPSID__ID_FIRST_DEFAULT,
                          CAPSID__ID_COUNT_DEFAULT);
    rc = capsid__capstore_save(dir, &store, err);
    if (rc != 0) {
      capsid__error_free(&lerr);
      return rc;
    }
    capsid__say(cb, data, "identities", 1,
        "reserved ids %u-%u: capsid-users %u, generic %u, read-only %u",
        (unsigned)store.first, (unsigned)(store.first + store.count - 1),
        (unsigned)CAPSID__CAP_USERS(&store),
        (unsigned)CAPSID__CAP_GENERIC(&store),
        (unsigned)CAPSID__CAP_READ_ONLY(&store));
  }
  capsid__capstore_free(&store);
  capsid__error_free(&lerr);
  if (lo->writable) {
    if (lo->v2_root[0])
      make_cgroup_parent(lo->v2_root, cb, data);
    for (i = 0; i < 3; i++)
      if (lo->v1_root[i][0] && !lo->controllers_v2)
        make_cgroup_parent(lo->v1_root[i], cb, data);
  } else {
    capsid__say(cb, data, "cgroup parent", 0,
        "cgroups are not writable: limits will use setrlimit");
  }
  capsid__say(cb, data, "network namespaces", 1,
      "made per workspace on first use, pinned under %s/ns for the next "
      "capsid process (uninstall removes them)", dir);
  return 0;
}


int capsid__system_fix(capsid__report_cb cb, void* data) {
  capsid__capstore_t store;
  capsid_error_t err = {0};
  int left;

  /* Without a store nothing can be told live: leave the pins alone
   * (uninstall removes them). */
  if (capsid__capstore_load(capsid__state_dir(), &store, &err) != 0) {
    capsid__error_free(&err);
    return 0;
  }
  left = capsid__nspin_clean(capsid__state_dir(), &store, cb, data);
  capsid__capstore_free(&store);
  return left;
}


int capsid__system_read_roots(const char* const* roots,
                              capsid__report_cb cb, void* data,
                              capsid_error_t* err) {
  const char* dir = capsid__state_dir();
  capsid__acl_principal_t users;
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t stats;
  capsid__capstore_t store;
  size_t i;
  int rc;

  rc = capsid__capstore_load(dir, &store, err);
  if (rc != 0)
    return rc;
  memset(&users, 0, sizeof(users));
  users.kind = CAPSID__ACL_GROUP;
  users.id = CAPSID__CAP_USERS(&store);
  capsid__capstore_free(&store);
  rc = capsid__acl_plan_read(roots, users, &plan);
  /* A job runs as its own uid and must reach each root: x on the
   * ancestors (traverse, not listing). */
  for (i = 0; rc == 0 && roots[i] != NULL; i++)
    rc = capsid__acl_plan_add_traverse(&plan, roots[i], users);
  if (rc == 0 && (rc = capsid__acl_plan_keep_recorded(&plan, dir)) != 0)
    capsid__acl_plan_free(&plan);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, roots[0],
                             "--read-root", "cannot plan the read roots");
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = dir;
  memset(&stats, 0, sizeof(stats));
  rc = capsid__acl_run(CAPSID__ACL_APPLY, &plan, &opts, &stats, err);
  capsid__acl_plan_free(&plan);
  if (rc != 0)
    return rc;
  for (i = 0; roots[i] != NULL; i++)
    capsid__say(cb, data, "read root", 1, "%s: r-X for capsid-users %u",
                roots[i], (unsigned)users.id);
  capsid__say(cb, data, "read roots", 1,
              "%llu objects changed, %llu directories walked",
              (unsigned long long)stats.changed,
              (unsigned long long)stats.dirs);
  return 0;
}


static void remove_tree(const char* path) {
  DIR* d = opendir(path);
  struct dirent* e;
  char* child;
  struct stat st;

  if (d != NULL) {
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      child = capsid__sprintf("%s/%s", path, e->d_name);
      if (child == NULL)
        continue;
      if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
        remove_tree(child);
      else
        unlink(child);
      capsid__free(child);
    }
    closedir(d);
  }
  rmdir(path);
}


/* Every workspace and extra root of the store: hand back (verify 0) or
 * count what is left (verify 1). */
static void handback_all(const capsid__capstore_t* s, int verify,
                         capsid__handback_stats_t* out) {
  capsid__handback_t hb;
  size_t i;

  hb.first = s->first;
  hb.count = s->count;
  hb.verify = verify;
  memset(out, 0, sizeof(*out));
  for (i = 0; i < s->n_workspaces + s->n_roots; i++)
    capsid__handback(i < s->n_workspaces
                         ? s->workspaces[i].path
                         : s->roots[i - s->n_workspaces].path,
                     &hb, out);
}


/* Removes job cgroups left by a capsid that died, then the parent. Jobs
 * of a capsid process that is still running are left alone (the parent
 * then stays, and verification says so). */
/* Removes a cgroup parent and the job cgroups of dead capsid processes
 * in it. Returns 0 when it is gone, 1 when it stays because jobs of a
 * live capsid process (another install, another test run) still use it,
 * -1 when it stays for another reason. */
static int remove_cgroup_parent(const char* parent) {
  DIR* d = opendir(parent);
  struct dirent* e;
  char path[PATH_MAX];
  int tries, in_use = 0;

  if (d == NULL)
    return errno == ENOENT ? 0 : -1;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, "job-", 4) != 0)
      continue;
    {
      long owner = strtol(e->d_name + 4, NULL, 10);
      if (owner > 0 && owner != (long)getpid() &&
          (kill((pid_t)owner, 0) == 0 || errno == EPERM)) {
        in_use = 1;
        continue;
      }
    }
    snprintf(path, sizeof(path), "%s/%s/cgroup.kill", parent, e->d_name);
    {
      FILE* f = fopen(path, "w");
      if (f != NULL) {
        fputs("1", f);
        fclose(f);
      }
    }
    snprintf(path, sizeof(path), "%s/%s", parent, e->d_name);
    for (tries = 0; tries < 200 && rmdir(path) != 0 && errno == EBUSY;
         tries++)
      usleep(10000);
  }
  closedir(d);
  if (rmdir(parent) == 0 || errno == ENOENT)
    return 0;
  return in_use ? 1 : -1;
}


/* One cgroup parent: removed when this install's setup made it, else
 * left to whoever did. Returns 1 when it is still there because of us. */
static int uninstall_cgroup_parent(const char* path, capsid__report_cb cb,
                                   void* data) {
  struct stat st;
  int rc;

  if (!created_has(path)) {
    if (stat(path, &st) == 0)
      capsid__say(cb, data, "cgroup parent", 1,
                  "kept %s (this install's setup did not make it)", path);
    return 0;
  }
  rc = remove_cgroup_parent(path);
  if (rc == 1) {
    /* Pulling it from under a running job would kill that job's limits;
     * it is an empty folder once they end. */
    capsid__say(cb, data, "cgroup parent", 1,
                "kept %s (jobs of another running capsid use it)", path);
    return 0;
  }
  capsid__say(cb, data, "cgroup parent", rc == 0, "%s %s",
              rc == 0 ? "removed" : "still busy:", path);
  return rc != 0;
}


int capsid__system_uninstall(capsid__report_cb cb, void* data,
                             capsid_error_t* err) {
  const capsid__cgroup_layout_t* lo = capsid__cgroup_layout();
  const char* dir = capsid__state_dir();
  capsid__handback_stats_t hs;
  capsid__acl_stats_t stats;
  capsid__capstore_t store;
  capsid_error_t aerr = {0};
  struct stat st;
  int rc, i, left = 0, have_store, handed_back = 1;

  if (geteuid() != 0)
    return capsid__error_set(err, CAPSID_EPERM, CAPSID_STAGE_NONE, EPERM,
                             NULL, NULL, "uninstall needs root");
  /* ACL entries first: the record of what was written lives in the state
   * directory. */
  memset(&stats, 0, sizeof(stats));
  if (stat(dir, &st) == 0) {
    rc = capsid__acl_remove_all(dir, 0, &stats, &aerr);
    if (rc == 0)
      capsid__say(cb, data, "acl entries", 1,
          "removed from %llu inodes capsid had granted",
          (unsigned long long)stats.changed);
    else {
      capsid__say(cb, data, "acl entries", 0, "%s",
          aerr.message ? aerr.message : capsid_strerror(rc));
      left++;
    }
    capsid__error_free(&aerr);
  }
  /* Inodes jobs left with a workspace identity (the post-job pass hands
   * back what it can; hard links, and what a job made while another ran,
   * wait for this) go to the workspace's owner, so no inode keeps an id
   * the next setup hands out again. */
  have_store = capsid__capstore_load(dir, &store, &aerr) == 0;
  capsid__error_free(&aerr);
  if (have_store) {
    handback_all(&store, 0, &hs);
    capsid__say(cb, data, "ownership", 1,
        "%lu inode(s) created by jobs handed back to their workspace's "
        "owner",
        hs.changed);
  }
  capsid__elevated_forget_all();
  capsid__heldns_clear();
  i = capsid__nspin_clean(dir, NULL, cb, data);
  capsid__say(cb, data, "namespaces", i == 0,
      i == 0 ? "no workspace namespace pinned any more"
             : "%d namespace pin(s) could not be removed", i);
  left += i;
  if (lo->v2_root[0])
    left += uninstall_cgroup_parent(lo->v2_root, cb, data);
  for (i = 0; i < 3; i++)
    if (lo->v1_root[i][0])
      left += uninstall_cgroup_parent(lo->v1_root[i], cb, data);
  /* Verify what the last line claims: no inode under any workspace owned
   * by or naming a capsid id, no ACL entry of one on their ancestors. */
  if (have_store) {
    handback_all(&store, 1, &hs);
    if (hs.left > 0 || hs.errors > 0) {
      capsid__say(cb, data, "ownership", 0,
          "%lu inode(s) still owned by or naming a capsid id%s, first: %s",
          hs.left + hs.errors,
          hs.stopped ? " (a directory moved during the walk)" : "",
          hs.first_left);
      left++;
      handed_back = 0;
    } else {
      capsid__say(cb, data, "ownership", 1,
          "checked: no inode of the workspaces is owned by or names a "
          "capsid id");
    }
    capsid__capstore_free(&store);
  }
  /* The store stays while inodes still carry its ids: the next setup
   * then hands out none of them again, and another uninstall retries. */
  if (handed_back)
    remove_tree(dir);
  if (!handed_back) {
    capsid__say(cb, data, "state directory", 0,
                "kept %s: its identities are still in use (run uninstall "
                "again once the inodes above can change)",
                dir);
  } else if (stat(dir, &st) == 0) {
    capsid__say(cb, data, "state directory", 0, "%s is still there", dir);
    left++;
  } else {
    capsid__say(cb, data, "state directory", 1, "removed %s", dir);
  }
  if (left > 0)
    return capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0, dir,
                             NULL,
                             "uninstall left %d thing(s) behind (see above; "
                             "a cgroup is busy while a job runs)",
                             left);
  capsid__say(cb, data, "verified", 1, "nothing capsid added is left");
  return 0;
}
