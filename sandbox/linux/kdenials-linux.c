/* Kernel-reported denials: Landlock's audit records (Linux 6.15, ABI 7).
 *
 * What the kernel gives, and what it takes here:
 *   - Landlock writes an AUDIT_LANDLOCK_ACCESS record for each request it
 *     refuses ("domain=ID blockers=fs.write_file path=\"/etc/x\" ..."),
 *     and, with the first one of a domain, an AUDIT_LANDLOCK_DOMAIN record
 *     naming the process that made the domain ("status=allocated ...
 *     pid=N comm=\"NAME\""); when the domain is freed, a last
 *     AUDIT_LANDLOCK_DOMAIN record ("status=deallocated denials=N").
 *   - Only while the kernel's audit is on (audit=1 on the command line,
 *     auditd, or `auditctl -e 1`): Landlock writes nothing otherwise.
 *     capsid never turns it on: that is the machine's administrator's
 *     choice (it makes every process's system calls audited, and without
 *     auditd the records also go to the kernel log).
 *   - No auditd is needed: every record goes to the netlink multicast
 *     group AUDIT_NLGRP_READLOG, which any process holding
 *     CAP_AUDIT_READ (root) may join, beside auditd if there is one.
 *   - By default Landlock logs a domain's refusals only until its process
 *     executes another program; capsid's job process asks for the
 *     opposite (LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON, and
 *     _LOG_SAME_EXEC_OFF for its own read-back before execve).
 *
 * Which job a record belongs to: the job's process names itself with a
 * tag of this capsid process just before it enters its domain
 * (landlock-linux.c), and the domain record carries that name (comm), so
 * the domain's id is the job's. A refusal of a domain the job made
 * itself inside its own (a sandboxing tool it runs) names that domain,
 * not the job's, and is not reported.
 *
 * A reader thread receives the records and files each under its job;
 * the job's result takes them (capsid__kdenials_take). Records come
 * asynchronously: once a job has had one, its result waits (a bounded
 * time) for the domain's last record, which follows the job's last
 * process; a refusal whose record comes later than the result is not
 * listed. That wait never runs on the runtime's loop thread, where it
 * would stall every other job's output, spawns and results: the Linux
 * capsid__postexit (elevated-linux.c) asks capsid__kdenials_coming and,
 * only for a job that had a record, runs capsid__kdenials_wait on the
 * worker pool before the result is made; the take itself never waits.
 * A job without one (the common case, and every job while the kernel's
 * audit is off) takes no pool hop. Everything is bounded: the jobs
 * followed at once, the refusals per job (the result's own bound), the
 * records waiting for their domain. */
#include "kdenials-linux.h"

#include "denials.h"
#include "landlock-linux.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef AUDIT_LANDLOCK_ACCESS
#define AUDIT_LANDLOCK_ACCESS 1423
#endif
#ifndef AUDIT_LANDLOCK_DOMAIN
#define AUDIT_LANDLOCK_DOMAIN 1424
#endif
#ifndef AUDIT_NLGRP_READLOG
#define AUDIT_NLGRP_READLOG 1
#endif

#define KD_JOBS 128      /* jobs followed at once */
#define KD_PENDING 32    /* records waiting for their domain's record */
#define KD_WAIT_MS 500   /* the most a result waits for its domain's end */
#define KD_TEXT 8192

typedef struct kd_job_s {
  const void* key; /* the job's sandbox; NULL: free slot */
  char tag[16];
  uint64_t domain; /* 0 until its first record */
  int ended;       /* the domain's last record came */
  uint64_t seq;
  size_t n;
  capsid__kdenial_t v[CAPSID__DENIALS_MAX];
} kd_job_t;

typedef struct kd_pending_s {
  uint64_t domain;
  capsid__kdenial_t d;
} kd_pending_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static kd_job_t jobs[KD_JOBS];
static kd_pending_t pending[KD_PENDING];
static size_t pending_next;
static uint64_t seq;
static int reader_state; /* 0 not tried, 1 running, -1 cannot */
static int reader_errno;
/* Slots in use, read without mu: while it is 0 (the kernel's audit off,
 * or not root), asking whether a result must wait takes no lock. */
static atomic_uint followed;

#ifdef CAPSID_FAULT_INJECTION
static const capsid__kdenials_hook_t* hook; /* under mu */
#endif


/* ---- the records ----------------------------------------------------- */

/* The value of " name=" in text: quoted, or hex (how audit writes a
 * string with spaces, quotes or control characters), or a bare word.
 * Copies at most size-1 bytes into out; 0 when absent. */
static int field(const char* text, const char* name, char* out, size_t size) {
  size_t k = strlen(name), n = 0;
  const char* p = text;
  const char* end;

  for (;;) {
    p = strstr(p, name);
    if (p == NULL)
      return 0;
    if ((p == text || p[-1] == ' ') && p[k] == '=')
      break;
    p += k;
  }
  p += k + 1;
  if (*p == '"') {
    end = strchr(p + 1, '"');
    if (end == NULL)
      return 0;
    n = (size_t)(end - p - 1);
    if (n >= size)
      n = size - 1;
    memcpy(out, p + 1, n);
  } else {
    end = p + strcspn(p, " ");
    if (strcmp(name, "path") == 0 || strcmp(name, "comm") == 0) {
      for (; p + 1 < end && n + 1 < size; p += 2) {
        unsigned v;
        if (sscanf(p, "%2x", &v) != 1)
          return 0;
        out[n++] = (char)v;
      }
    } else {
      n = (size_t)(end - p);
      if (n >= size)
        n = size - 1;
      memcpy(out, p, n);
    }
  }
  out[n] = '\0';
  return 1;
}


/* What the first blocker says the job tried. */
static const char* op_of(const char* blockers) {
  if (strncmp(blockers, "fs.read_", 8) == 0)
    return "read";
  if (strncmp(blockers, "fs.execute", 10) == 0)
    return "execute";
  if (strncmp(blockers, "fs.", 3) == 0)
    return "write";
  if (strncmp(blockers, "net.bind", 8) == 0)
    return "bind";
  if (strncmp(blockers, "net.", 4) == 0)
    return "connect";
  return NULL; /* scopes: no path to name */
}


static kd_job_t* job_of_domain(uint64_t domain) {
  size_t i;

  for (i = 0; domain != 0 && i < KD_JOBS; i++)
    if (jobs[i].key != NULL && jobs[i].domain == domain)
      return &jobs[i];
  return NULL;
}


/* Files d under job, once per op and path, within the bound; takes d's
 * path either way. */
static void job_add(kd_job_t* job, capsid__kdenial_t* d) {
  size_t i;

  for (i = 0; i < job->n; i++)
    if (strcmp(job->v[i].op, d->op) == 0 &&
        strcmp(job->v[i].path, d->path) == 0)
      break;
  if (i == job->n && job->n < CAPSID__DENIALS_MAX) {
    job->v[job->n++] = *d;
    d->path = NULL;
  }
  capsid__free(d->path);
  d->path = NULL;
}


static void on_access(const char* text) {
  char domain[32], blockers[256], path[4096], port[16];
  capsid__kdenial_t d;
  const char* op;
  kd_job_t* job;
  uint64_t id;

  if (!field(text, "domain", domain, sizeof(domain)) ||
      !field(text, "blockers", blockers, sizeof(blockers)) ||
      (op = op_of(blockers)) == NULL)
    return;
  if (!field(text, "path", path, sizeof(path))) {
    if (!field(text, "dest", port, sizeof(port)))
      return;
    snprintf(path, sizeof(path), "tcp:%s", port);
  }
  id = strtoull(domain, NULL, 16);
  memset(&d, 0, sizeof(d));
  snprintf(d.op, sizeof(d.op), "%s", op);
  d.path = capsid__strdup(path);
  if (d.path == NULL)
    return;
  pthread_mutex_lock(&mu);
  job = job_of_domain(id);
  if (job != NULL) {
    job_add(job, &d);
  } else {
    /* The domain's own record follows in the same event. */
    kd_pending_t* p = &pending[pending_next++ % KD_PENDING];
    capsid__free(p->d.path);
    p->domain = id;
    p->d = d;
  }
  pthread_mutex_unlock(&mu);
}


static void on_domain(const char* text) {
  char domain[32], status[32], comm[32];
  kd_job_t* job = NULL;
  uint64_t id;
  size_t i;

  if (!field(text, "domain", domain, sizeof(domain)) ||
      !field(text, "status", status, sizeof(status)))
    return;
  id = strtoull(domain, NULL, 16);
  pthread_mutex_lock(&mu);
  if (strcmp(status, "allocated") == 0 &&
      field(text, "comm", comm, sizeof(comm))) {
    for (i = 0; job == NULL && i < KD_JOBS; i++)
      if (jobs[i].key != NULL && jobs[i].domain == 0 &&
          strcmp(jobs[i].tag, comm) == 0)
        job = &jobs[i];
    if (job != NULL) {
      job->domain = id;
      for (i = 0; i < KD_PENDING; i++)
        if (pending[i].domain == id && pending[i].d.path != NULL) {
          job_add(job, &pending[i].d);
          pending[i].domain = 0;
        }
    }
  } else if (strcmp(status, "deallocated") == 0) {
    job = job_of_domain(id);
    if (job != NULL)
      job->ended = 1;
  }
  if (job != NULL)
    pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}


static void* reader(void* arg) {
  static char buf[KD_TEXT], text[KD_TEXT];
  int fd = (int)(intptr_t)arg;
  struct nlmsghdr* h;
  ssize_t n;
  size_t len;

  for (;;) {
    n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS) /* lost: nothing to do */
        continue;
      return NULL;
    }
    /* One record a datagram; its text is what came after the header
     * (audit's own nlmsg_len is not the record's length everywhere). */
    h = (struct nlmsghdr*)buf;
    if ((size_t)n <= NLMSG_HDRLEN || (h->nlmsg_type != AUDIT_LANDLOCK_ACCESS &&
                                      h->nlmsg_type != AUDIT_LANDLOCK_DOMAIN))
      continue;
    len = (size_t)n - NLMSG_HDRLEN;
    if (len >= sizeof(text))
      len = sizeof(text) - 1;
    memcpy(text, buf + NLMSG_HDRLEN, len);
    text[len] = '\0';
    if (h->nlmsg_type == AUDIT_LANDLOCK_ACCESS)
      on_access(text);
    else
      on_domain(text);
  }
}


/* ---- the kernel's audit switch ---------------------------------------- */

/* 1 when the kernel's audit is on, 0 off, -errno when it cannot say.
 * Asked at each job start (it may be turned on or off at any time) on a
 * socket kept for it; under mu. */
static int audit_on(void) {
  static int fd = -1;
  struct {
    struct nlmsghdr h;
    struct audit_status s;
  } req, rsp;
  struct timeval tv = {1, 0};
  ssize_t n;

  if (fd < 0) {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
    if (fd < 0)
      return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  memset(&req, 0, sizeof(req));
  req.h.nlmsg_len = NLMSG_LENGTH(0);
  req.h.nlmsg_type = AUDIT_GET;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.h.nlmsg_seq = 1;
  if (send(fd, &req, req.h.nlmsg_len, 0) < 0)
    return -errno;
  for (;;) {
    n = recv(fd, &rsp, sizeof(rsp), 0);
    if (n < 0)
      return -errno;
    if (rsp.h.nlmsg_type == NLMSG_ERROR) {
      struct nlmsgerr* e = NLMSG_DATA(&rsp.h);
      if (e->error != 0)
        return e->error;
      continue;
    }
    if (rsp.h.nlmsg_type == AUDIT_GET &&
        (size_t)n >= NLMSG_HDRLEN + sizeof(uint32_t) * 2)
      return rsp.s.enabled != 0;
  }
}


static void reader_start(void) {
  struct sockaddr_nl sa;
  pthread_attr_t attr;
  pthread_t t;
  int fd, size = 1 << 20;

  reader_state = -1;
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) {
    reader_errno = errno;
    return;
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1);
  if (bind(fd, (struct sockaddr*)&sa, sizeof(sa)) != 0) {
    reader_errno = errno; /* EPERM without CAP_AUDIT_READ */
    close(fd);
    return;
  }
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if ((reader_errno = pthread_create(&t, &attr, reader,
                                     (void*)(intptr_t)fd)) != 0) {
    close(fd);
  } else {
    reader_state = 1;
  }
  pthread_attr_destroy(&attr);
}


/* Why the kernel's reports cannot be read here, or NULL when they can.
 * Under mu. */
static const char* unavailable(void) {
  int on;

  if (capsid__landlock_abi() < 7)
    return "Landlock writes audit records from ABI 7 (Linux 6.15) on";
  if (geteuid() != 0)
    return "reading the kernel's audit records needs root";
  on = audit_on();
  if (on < 0)
    return "the kernel's audit cannot be asked here";
  if (on == 0)
    return "the kernel's audit is off (audit=1 on the kernel command "
           "line, auditd or `auditctl -e 1` turns it on; capsid does not)";
  return NULL;
}


/* ---- the jobs ---------------------------------------------------------- */

static void job_clear(kd_job_t* job) {
  size_t i;

  if (job->key != NULL)
    atomic_fetch_sub(&followed, 1);
  for (i = 0; i < job->n; i++)
    capsid__free(job->v[i].path);
  memset(job, 0, sizeof(*job));
}


static kd_job_t* job_of_key(const void* key) {
  size_t i;

  for (i = 0; i < KD_JOBS; i++)
    if (jobs[i].key == key)
      return &jobs[i];
  return NULL;
}


/* Whether this process follows jobs: the reader runs (started here on
 * first use). Under mu. */
static int following(void) {
#ifdef CAPSID_FAULT_INJECTION
  if (hook != NULL)
    return 1; /* the test hands in the records itself */
#endif
  if (unavailable() != NULL)
    return 0;
  if (reader_state == 0)
    reader_start();
  return reader_state > 0;
}


int capsid__kdenials_expect(const void* key, char tag[16]) {
  kd_job_t* slot = NULL;
  size_t i;
#ifdef CAPSID_FAULT_INJECTION
  const capsid__kdenials_hook_t* h;
#endif

  tag[0] = '\0';
  pthread_mutex_lock(&mu);
  if (!following()) {
    pthread_mutex_unlock(&mu);
    return 0;
  }
  /* A slot of this key (an earlier job whose result never asked), else
   * a free one, else the oldest. */
  for (i = 0; i < KD_JOBS; i++) {
    if (jobs[i].key == key || jobs[i].key == NULL) {
      slot = &jobs[i];
      if (jobs[i].key == key)
        break;
    }
  }
  if (slot == NULL)
    for (slot = &jobs[0], i = 1; i < KD_JOBS; i++)
      if (jobs[i].seq < slot->seq)
        slot = &jobs[i];
  job_clear(slot);
  slot->key = key;
  slot->seq = ++seq;
  atomic_fetch_add(&followed, 1);
  /* 15 characters: this process and the job's number in it. */
  snprintf(slot->tag, sizeof(slot->tag), "cj%05x%08llx",
           (unsigned)getpid() & 0xfffffU,
           (unsigned long long)(slot->seq & 0xffffffffULL));
  memcpy(tag, slot->tag, sizeof(slot->tag));
#ifdef CAPSID_FAULT_INJECTION
  h = hook;
#endif
  pthread_mutex_unlock(&mu);
#ifdef CAPSID_FAULT_INJECTION
  if (h != NULL && h->on_expect != NULL)
    h->on_expect(key, tag, h->data); /* unlocked: it hands in records */
#endif
  return 1;
}


int capsid__kdenials_coming(const void* key) {
  kd_job_t* job;
  int coming;

  if (atomic_load_explicit(&followed, memory_order_relaxed) == 0)
    return 0;
  pthread_mutex_lock(&mu);
  job = job_of_key(key);
  coming = job != NULL && job->domain != 0 && !job->ended;
  pthread_mutex_unlock(&mu);
  return coming;
}


void capsid__kdenials_wait(const void* key) {
  struct timespec until;
  long wait_ms = KD_WAIT_MS;
  kd_job_t* job;

  pthread_mutex_lock(&mu);
#ifdef CAPSID_FAULT_INJECTION
  if (hook != NULL) {
    const capsid__kdenials_hook_t* h = hook;

    if (h->wait_ms > 0)
      wait_ms = (long)h->wait_ms;
    if (h->on_wait != NULL) {
      pthread_mutex_unlock(&mu);
      h->on_wait(key, h->data);
      pthread_mutex_lock(&mu);
    }
  }
#endif
  job = job_of_key(key);
  if (job != NULL && job->domain != 0 && !job->ended) {
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (!job->ended && job->key == key &&
           pthread_cond_timedwait(&cv, &mu, &until) == 0)
      ;
  }
  pthread_mutex_unlock(&mu);
}


size_t capsid__kdenials_take(const capsid__sandbox_t* sb,
                             capsid__kdenial_t** out) {
  kd_job_t* job;
  size_t n = 0;

  *out = NULL;
  if (atomic_load_explicit(&followed, memory_order_relaxed) == 0)
    return 0;
  pthread_mutex_lock(&mu);
  job = job_of_key(sb);
  if (job != NULL && job->n > 0) {
    *out = capsid__calloc(job->n, sizeof(**out));
    if (*out != NULL) {
      n = job->n;
      memcpy(*out, job->v, n * sizeof(**out));
      job->n = 0; /* the paths are the caller's now */
    }
  }
  if (job != NULL)
    job_clear(job);
  pthread_mutex_unlock(&mu);
  return n;
}


#ifdef CAPSID_FAULT_INJECTION
void capsid__kdenials_test_hook(const capsid__kdenials_hook_t* h) {
  pthread_mutex_lock(&mu);
  hook = h;
  pthread_mutex_unlock(&mu);
}


void capsid__kdenials_test_record(int domain_record, const char* text) {
  if (domain_record)
    on_domain(text);
  else
    on_access(text);
}
#endif


void capsid__kdenials_doctor(capsid__report_cb cb, void* data) {
  const char* why;

  pthread_mutex_lock(&mu);
  why = unavailable();
  if (why == NULL && reader_state == 0)
    reader_start();
  if (why == NULL && reader_state < 0)
    why = "cannot join the audit read-log group";
  pthread_mutex_unlock(&mu);
  capsid__say(cb, data, "kernel denials", why == NULL,
              "%s%s", why == NULL ? "Landlock's audit records (read-log "
                                    "group): results list what the kernel "
                                    "refused"
                                  : why,
              why == NULL ? "" : "; denials come from the job's stderr only");
}
