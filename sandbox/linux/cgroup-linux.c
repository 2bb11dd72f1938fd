/* Job limits and whole-tree kill through cgroups.
 *
 * Layouts, detected rather than assumed:
 *   - pure v2 (/sys/fs/cgroup is cgroup2): one cgroup per job with
 *     memory.max, pids.max, cpu.max, memory.oom.group and cgroup.kill;
 *   - hybrid (v2 at /sys/fs/cgroup/unified, controllers bound to v1): the
 *     v2 cgroup gives membership and cgroup.kill, and the v1 memory, pids
 *     and cpu hierarchies the limits -- a v1 cgroup is made only for a
 *     limit the job asked for, since each one costs a write in the child;
 *   - nothing writable (not root, no delegation): setrlimit in the child,
 *     reported as such.
 *
 * Every job's cgroups live under "capsid" at the root of each hierarchy,
 * named job-<pid>-<n>, and are removed when the job is released.
 *
 * The child joins by writing "0" to each cgroup.procs it was handed open:
 * about 13 us per write, and it works on the fast CLONE_VM|CLONE_VFORK
 * path, which CLONE_INTO_CGROUP (clone3, v2 only) does not. */
#include "cgroup-linux.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

#define V1_MEMORY 0
#define V1_PIDS 1
#define V1_CPU 2

static const char* const v1_names[3] = {"memory", "pids", "cpu"};

static pthread_once_t layout_once = PTHREAD_ONCE_INIT;
static capsid__cgroup_layout_t layout;
static unsigned long job_counter; /* under counter_lock */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;


static int fs_is(const char* path, long magic) {
  struct statfs sf;
  return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}


static int read_small(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return -1;
  n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return 0;
}


static int write_small(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n;
  int e;

  if (fd < 0)
    return errno;
  n = write(fd, text, strlen(text));
  e = n < 0 ? errno : 0;
  close(fd);
  return e;
}


static int has_word(const char* list, const char* word) {
  size_t n = strlen(word);
  const char* p = list;

  while ((p = strstr(p, word)) != NULL) {
    if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' ||
                                        p[n] == '\n'))
      return 1;
    p += n;
  }
  return 0;
}


static void probe_layout(void) {
  char buf[512];
  int i;

  layout.name = "none";
  if (fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
    layout.name = "v2";
    snprintf(layout.v2_root, sizeof(layout.v2_root), "/sys/fs/cgroup/capsid");
    if (read_small("/sys/fs/cgroup/cgroup.controllers", buf, sizeof(buf)) ==
            0 &&
        has_word(buf, "memory") && has_word(buf, "pids") &&
        has_word(buf, "cpu"))
      layout.controllers_v2 = 1;
    layout.writable = access("/sys/fs/cgroup", W_OK) == 0;
    return;
  }
  if (fs_is("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
    snprintf(layout.v2_root, sizeof(layout.v2_root),
             "/sys/fs/cgroup/unified/capsid");
  for (i = 0; i < 3; i++) {
    char mnt[64];
    snprintf(mnt, sizeof(mnt), "/sys/fs/cgroup/%s", v1_names[i]);
    if (fs_is(mnt, CGROUP_SUPER_MAGIC))
      snprintf(layout.v1_root[i], sizeof(layout.v1_root[i]), "%s/capsid",
               mnt);
  }
  if (layout.v2_root[0] && layout.v1_root[0][0])
    layout.name = "hybrid";
  else if (layout.v1_root[0][0])
    layout.name = "v1";
  else if (layout.v2_root[0])
    layout.name = "v2";
  /* Writable means we may make cgroups at the top of the hierarchy: root,
   * in practice. A delegated subtree would need a configurable parent. */
  if (layout.v2_root[0])
    layout.writable = access("/sys/fs/cgroup/unified", W_OK) == 0;
  else if (layout.v1_root[0][0])
    layout.writable = access("/sys/fs/cgroup/memory", W_OK) == 0;
}


const capsid__cgroup_layout_t* capsid__cgroup_layout(void) {
  pthread_once(&layout_once, probe_layout);
  return &layout;
}


static int add_fd(capsid__cgroup_t* cg, const char* dir) {
  char path[512];
  int fd;

  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  cg->procs_fd[cg->n_fds++] = fd;
  return 0;
}


static int set_value(const char* dir, const char* file, const char* value,
                     int optional) {
  char path[512];
  int rc;

  snprintf(path, sizeof(path), "%s/%s", dir, file);
  rc = write_small(path, value);
  if (rc == ENOENT && optional)
    return 0;
  return rc;
}


/* Makes root (the capsid parent) and a fresh job cgroup beneath it. */
static char* make_job_dir(const char* root, const char* name, int* err) {
  char* dir;

  if (mkdir(root, 0755) != 0 && errno != EEXIST) {
    *err = errno;
    return NULL;
  }
  dir = capsid__sprintf("%s/%s", root, name);
  if (dir == NULL) {
    *err = ENOMEM;
    return NULL;
  }
  /* An uninstall may remove the (empty) parent between the two mkdirs. */
  if (mkdir(dir, 0755) != 0 && errno == ENOENT &&
      (mkdir(root, 0755) == 0 || errno == EEXIST))
    mkdir(dir, 0755);
  if (access(dir, F_OK) != 0) {
    *err = errno;
    capsid__free(dir);
    return NULL;
  }
  return dir;
}


static int enable_v2_controllers(void) {
  static int done;
  int rc;

  if (done)
    return 0;
  /* The parent must hand the controllers down to the jobs beneath it. */
  rc = write_small("/sys/fs/cgroup/cgroup.subtree_control",
                   "+memory +pids +cpu");
  if (rc == 0)
    rc = set_value(layout.v2_root, "cgroup.subtree_control",
                   "+memory +pids +cpu", 0);
  done = rc == 0;
  return rc;
}


int capsid__cgroup_prepare(capsid__cgroup_t* cg,
                           const capsid__limits_t* limits,
                           capsid_error_t* err) {
  const capsid__cgroup_layout_t* lo = capsid__cgroup_layout();
  int want[3], i, e = 0;
  char name[64], value[64];
  const char* where = NULL;
  unsigned long n;

  memset(cg, 0, sizeof(*cg));
  for (i = 0; i < CAPSID__CG_MAX_FDS; i++)
    cg->procs_fd[i] = -1;
  cg->limits = *limits;
  want[V1_MEMORY] = limits->memory > 0;
  want[V1_PIDS] = limits->processes > 0;
  want[V1_CPU] = limits->cpu > 0;
  if (!lo->writable) {
    cg->kind = (want[0] || want[1] || want[2]) ? CAPSID__LIMITS_RLIMIT
                                               : CAPSID__LIMITS_NONE;
    return 0;
  }

  pthread_mutex_lock(&counter_lock);
  n = ++job_counter;
  pthread_mutex_unlock(&counter_lock);
  snprintf(name, sizeof(name), "job-%ld-%lu", (long)getpid(), n);

  if (lo->v2_root[0]) {
    if (lo->controllers_v2 && (want[0] || want[1] || want[2])) {
      e = enable_v2_controllers();
      where = "/sys/fs/cgroup/cgroup.subtree_control";
    }
    if (e == 0) {
      where = lo->v2_root;
      cg->v2 = make_job_dir(lo->v2_root, name, &e);
    }
    if (e == 0)
      e = add_fd(cg, where = cg->v2);
  }
  for (i = 0; e == 0 && i < 3; i++) {
    if (!want[i] || lo->controllers_v2 || !lo->v1_root[i][0])
      continue;
    where = lo->v1_root[i];
    cg->v1[i] = make_job_dir(lo->v1_root[i], name, &e);
    if (e == 0)
      e = add_fd(cg, where = cg->v1[i]);
  }
  if (e != 0)
    goto fail;

  if (want[V1_MEMORY]) {
    snprintf(value, sizeof(value), "%llu", (unsigned long long)limits->memory);
    if (lo->controllers_v2) {
      where = cg->v2;
      e = set_value(cg->v2, "memory.max", value, 0);
      if (e == 0)
        e = set_value(cg->v2, "memory.swap.max", "0", 1);
      /* One OOM kill takes the whole job, as a job object does. */
      if (e == 0)
        e = set_value(cg->v2, "memory.oom.group", "1", 1);
    } else if (cg->v1[V1_MEMORY] != NULL) {
      where = cg->v1[V1_MEMORY];
      e = set_value(where, "memory.limit_in_bytes", value, 0);
      /* With swap accounting, the limit must cover swap too, or the job
       * swaps instead of being stopped. */
      if (e == 0)
        e = set_value(where, "memory.memsw.limit_in_bytes", value, 1);
    }
  }
  if (e == 0 && want[V1_PIDS]) {
    snprintf(value, sizeof(value), "%u", (unsigned)limits->processes);
    where = lo->controllers_v2 ? cg->v2 : cg->v1[V1_PIDS];
    if (where != NULL)
      e = set_value(where, "pids.max", value, 0);
  }
  if (e == 0 && want[V1_CPU]) {
    long quota = (long)(limits->cpu * 100000.0);
    if (quota < 1000)
      quota = 1000; /* the kernel's minimum is 1 ms per period */
    if (lo->controllers_v2) {
      where = cg->v2;
      snprintf(value, sizeof(value), "%ld 100000", quota);
      e = set_value(where, "cpu.max", value, 0);
    } else if (cg->v1[V1_CPU] != NULL) {
      where = cg->v1[V1_CPU];
      e = set_value(where, "cpu.cfs_period_us", "100000", 0);
      snprintf(value, sizeof(value), "%ld", quota);
      if (e == 0)
        e = set_value(where, "cpu.cfs_quota_us", value, 0);
    }
  }
  if (e != 0)
    goto fail;
  cg->kind = CAPSID__LIMITS_CGROUP;
  /* A limit no hierarchy here can hold falls back to setrlimit. */
  if ((want[V1_MEMORY] && !lo->controllers_v2 && cg->v1[V1_MEMORY] == NULL) ||
      (want[V1_PIDS] && !lo->controllers_v2 && cg->v1[V1_PIDS] == NULL))
    cg->kind = CAPSID__LIMITS_RLIMIT;
  return 0;

fail:
  capsid__cgroup_release(cg);
  return capsid__error_set(err, CAPSID_ELIMIT, CAPSID_STAGE_CGROUP, e, where,
                           NULL, "cannot set up the job's cgroup");
}


int capsid__cgroup_child(const capsid__cgroup_t* cg) {
  struct rlimit rl;
  unsigned i;

  for (i = 0; i < cg->n_fds; i++)
    if (write(cg->procs_fd[i], "0", 1) != 1)
      return errno;
  if (cg->kind != CAPSID__LIMITS_RLIMIT)
    return 0;
  /* Last resort. RLIMIT_AS caps address space, not resident memory, and
   * RLIMIT_NPROC counts every process of the uid, not of the job. */
  if (cg->limits.memory > 0 && cg->v1[V1_MEMORY] == NULL &&
      !layout.controllers_v2) {
    rl.rlim_cur = rl.rlim_max = (rlim_t)cg->limits.memory;
    if (setrlimit(RLIMIT_AS, &rl) != 0)
      return errno;
  }
  if (cg->limits.processes > 0 && cg->v1[V1_PIDS] == NULL &&
      !layout.controllers_v2) {
    rl.rlim_cur = rl.rlim_max = (rlim_t)cg->limits.processes;
    if (setrlimit(RLIMIT_NPROC, &rl) != 0)
      return errno;
  }
  return 0;
}


/* Sends sig to every process listed in dir/cgroup.procs but those of
 * process group skip (0: none). */
static void kill_listed(const char* dir, int sig, pid_t skip) {
  char path[512], buf[4096];
  char* p;
  char* end;
  long pid;

  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  if (read_small(path, buf, sizeof(buf)) != 0)
    return;
  for (p = buf; *p != '\0'; p = end) {
    pid = strtol(p, &end, 10);
    if (end == p)
      break;
    if (pid > 0 && (skip == 0 || getpgid((pid_t)pid) != skip))
      kill((pid_t)pid, sig);
    while (*end == '\n')
      end++;
  }
}


void capsid__cgroup_kill(capsid__cgroup_t* cg) {
  if (cg->v2 != NULL && set_value(cg->v2, "cgroup.kill", "1", 0) == 0)
    return;
  /* No cgroup.kill (before 5.14, or v1 only): kill the members one by
   * one; the caller repeats until the cgroup is empty. */
  capsid__cgroup_signal(cg, SIGKILL, 0);
}


void capsid__cgroup_signal(const capsid__cgroup_t* cg, int sig, pid_t skip) {
  int i;

  if (cg->v2 != NULL)
    kill_listed(cg->v2, sig, skip);
  for (i = 0; i < 3; i++)
    if (cg->v1[i] != NULL)
      kill_listed(cg->v1[i], sig, skip);
}


static long long read_key(const char* dir, const char* file,
                          const char* key) {
  char path[512], buf[2048];
  const char* p;
  size_t n = key ? strlen(key) : 0;

  if (dir == NULL)
    return -1;
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  if (read_small(path, buf, sizeof(buf)) != 0)
    return -1;
  if (key == NULL)
    return strtoll(buf, NULL, 10);
  for (p = buf; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
    if (strncmp(p, key, n) == 0 && p[n] == ' ')
      return strtoll(p + n + 1, NULL, 10);
  return -1;
}


void capsid__cgroup_stats(const capsid__cgroup_t* cg,
                          capsid__cgroup_stats_t* st) {
  long long v;

  st->oom = 0;
  st->pids_limited = 0;
  st->peak_memory = -1;
  st->user_cpu_ms = st->sys_cpu_ms = -1;
  /* cpu.stat is a core file of every v2 cgroup: it counts processes that
   * were killed before anyone could wait for them. */
  if (cg->v2 != NULL && (v = read_key(cg->v2, "cpu.stat", "user_usec")) >= 0) {
    st->user_cpu_ms = (double)v / 1e3;
    v = read_key(cg->v2, "cpu.stat", "system_usec");
    st->sys_cpu_ms = v >= 0 ? (double)v / 1e3 : 0;
  }
  if (layout.controllers_v2 && cg->v2 != NULL) {
    st->oom = read_key(cg->v2, "memory.events", "oom_kill") > 0;
    st->pids_limited = read_key(cg->v2, "pids.events", "max") > 0;
    v = read_key(cg->v2, "memory.peak", NULL);
    if (v >= 0)
      st->peak_memory = v;
    return;
  }
  if (cg->v1[V1_MEMORY] != NULL) {
    st->oom = read_key(cg->v1[V1_MEMORY], "memory.oom_control", "oom_kill") >
              0;
    v = read_key(cg->v1[V1_MEMORY], "memory.max_usage_in_bytes", NULL);
    if (v >= 0)
      st->peak_memory = v;
  }
  if (cg->v1[V1_PIDS] != NULL)
    st->pids_limited = read_key(cg->v1[V1_PIDS], "pids.events", "max") > 0;
}


int capsid__cgroup_memory_hit(const capsid__cgroup_t* cg) {
  const char* v1 = cg->v1[V1_MEMORY];
  long long limit;

  if (layout.controllers_v2 && cg->v2 != NULL)
    return read_key(cg->v2, "memory.events", "max") > 0;
  if (v1 == NULL)
    return 0;
  /* v1's failcnt stays 0 for the kernel's own charges that fail (seen on
   * 6.18): the peak reaching the limit (as the kernel rounded it) says. */
  limit = read_key(v1, "memory.limit_in_bytes", NULL);
  return read_key(v1, "memory.failcnt", NULL) > 0 ||
         (limit > 0 && read_key(v1, "memory.max_usage_in_bytes", NULL) >= limit);
}


static int populated(const capsid__cgroup_t* cg) {
  char path[512], buf[64];
  int i;

  if (cg->v2 != NULL) {
    long long v = read_key(cg->v2, "cgroup.events", "populated");
    if (v > 0)
      return 1;
  }
  for (i = 0; i < 3; i++) {
    if (cg->v1[i] == NULL)
      continue;
    snprintf(path, sizeof(path), "%s/cgroup.procs", cg->v1[i]);
    if (read_small(path, buf, sizeof(buf)) == 0 && buf[0] != '\0')
      return 1;
  }
  return 0;
}


void capsid__cgroup_release(capsid__cgroup_t* cg) {
  struct timespec ts = {0, 1000000};
  unsigned i;
  int tries;

  for (i = 0; i < cg->n_fds; i++)
    close(cg->procs_fd[i]);
  cg->n_fds = 0;
  if (cg->v2 != NULL || cg->v1[0] || cg->v1[1] || cg->v1[2]) {
    /* Killed processes take a moment to leave (a big address space is
     * freed first). A job in a pid namespace is already empty here: the
     * kernel reaps the namespace before its init is reported dead. */
    for (tries = 0; tries < 2000 && populated(cg); tries++) {
      if (tries % 50 == 0)
        capsid__cgroup_kill(cg);
      nanosleep(&ts, NULL);
    }
  }
  if (cg->v2 != NULL) {
    rmdir(cg->v2);
    capsid__free(cg->v2);
    cg->v2 = NULL;
  }
  for (i = 0; i < 3; i++) {
    if (cg->v1[i] != NULL) {
      rmdir(cg->v1[i]);
      capsid__free(cg->v1[i]);
      cg->v1[i] = NULL;
    }
  }
}
