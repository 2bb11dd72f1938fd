/* deny_read where the modes differ: landlock-only mode hides denied paths
 * by Landlock rules around them (sandbox/linux/landlock-deny-linux.c),
 * the others by mounts over them. Each case says what every mode
 * guarantees and asserts what differs, per mode, as docs/security.md
 * states it. */
#include "smoke.h"

#include "landlock-linux.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET SMOKE_DENY_SECRET
#define PUBLIC SMOKE_DENY_PUBLIC

/* The shared fixture (smoke.h), with a directory beside the denied token
 * in the home and a subdirectory beside the denied .env in the
 * workspace. */
static void fx_make(smoke_deny_fx_t* f) {
  smoke_deny_fx_make(f);
  assert_int_equal(test_system("mkdir -p '%s/other' '%s/sub' && chmod 755 "
                               "'%s/other'",
                               f->home, f->ws, f->home),
                   0);
}


static int ll(void) {
  return smoke_mode_ran == CAPSID_MODE_LANDLOCK_ONLY;
}


/* The exit status of script, with what it printed on failure. */
static int status(const smoke_job_t* job, const char* script,
                  int want_secret_absent) {
  capsid_result_t r;
  int rc;

  smoke_sh(job, script, &r);
  rc = r.exit_code;
  if (want_secret_absent && (strstr(r.out.data, SECRET) != NULL ||
                             strstr(r.err.data, SECRET) != NULL)) {
    fprintf(stderr, "`%s` read the denied file\n", script);
    fail();
  }
  capsid_result_free(&r);
  return rc;
}


/* A writable root that holds a denied path: the denied file cannot be
 * read, removed, renamed or overwritten in any mode, and a subdirectory
 * stays fully usable. Landlock-only mode differs for new entries
 * directly in that root: the job can name them but not write them. */
void smoke_deny_read_writable_root(void** state) {
  smoke_deny_fx_t f;
  smoke_job_t job;
  char path[1400];

  (void)state;
  fx_make(&f);
  job = (smoke_job_t){.cwd = f.ws, .network = -1, .policy = f.policy};
  assert_int_not_equal(status(&job, "cat .env", 1), 0);
  assert_int_not_equal(status(&job, "rm -f .env; mv .env gone; "
                                    "echo over > .env; cat gone .env", 1),
                       0);
  assert_int_equal(test_system("grep -qx %s '%s/.env'", SECRET, f.ws), 0);
  /* Controls: the public file beside it, a subdirectory. */
  assert_int_equal(status(&job, "cat src.txt && echo x >> src.txt && "
                                "echo y > sub/made && cat sub/made && "
                                "rm sub/made",
                          1),
                   0);
  snprintf(path, sizeof(path), "%s/made", f.ws);
  if (ll()) {
    assert_int_not_equal(status(&job, "echo x > made && cat made", 1), 0);
  } else {
    assert_int_equal(status(&job, "echo x > made && cat made", 1), 0);
    assert_int_equal(access(path, F_OK), 0);
  }
  smoke_deny_fx_free(&f);
}


/* A hard link beside a denied file, made before the job: landlock-only
 * mode's rules hold inodes, and the link's inode is the denied one, so
 * it gets no rule and cannot be read; the mounts of the other modes
 * cover paths, and leave such a link readable (docs/security.md). A
 * hard link to the denied file made by the job itself is refused in
 * every mode (smoke_deny_read). */
void smoke_deny_read_hard_link_beside(void** state) {
  smoke_deny_fx_t f;
  smoke_job_t job;

  (void)state;
  fx_make(&f);
  assert_int_equal(test_system("ln '%s/token' '%s/token-link'", f.home,
                               f.home),
                   0);
  job = (smoke_job_t){.cwd = f.ws, .network = -1, .policy = f.policy};
  assert_int_not_equal(status(&job, "cat ~/token", 1), 0);
  if (ll())
    assert_int_not_equal(status(&job, "cat ~/token-link", 1), 0);
  else
    assert_int_equal(status(&job, "cat ~/token-link", 0), 0);
  assert_int_equal(status(&job, "cat ~/plain.txt", 1), 0);
  smoke_deny_fx_free(&f);
}


typedef struct later_s {
  const char* ws;
  const char* home;
} later_t;

/* Host side: once the job says it runs, a public file appears in the
 * home (a directory on the way to the denied ~/token), then the job is
 * told to read it. */
static void* make_later(void* arg) {
  const later_t* l = arg;
  char path[1400];
  int i;

  snprintf(path, sizeof(path), "%s/sub/ready", l->ws);
  for (i = 0; i < 3000 && access(path, F_OK) != 0; i++)
    usleep(10000);
  smoke_put(l->home, "later.txt", PUBLIC "\n");
  snprintf(path, sizeof(path), "%s/sub/go", l->ws);
  assert_int_equal(test_write_file(path, "", 0), 0);
  return NULL;
}


/* An entry made in a directory on the way to a denied path while a job
 * runs: landlock-only mode built its rules when the job started, so no
 * rule covers the new entry and the job cannot read it; the next job
 * can. In the other modes only the denied path is covered. */
void smoke_deny_read_created_later(void** state) {
  smoke_deny_fx_t f;
  smoke_job_t job;
  later_t l;
  pthread_t t;
  int rc;

  (void)state;
  fx_make(&f);
  l.ws = f.ws;
  l.home = f.home;
  job = (smoke_job_t){.cwd = f.ws, .network = -1, .policy = f.policy};
  assert_int_equal(pthread_create(&t, NULL, make_later, &l), 0);
  rc = status(&job, "touch sub/ready; while [ ! -e sub/go ]; do sleep "
                    "0.05; done; cat ~/later.txt",
              1);
  pthread_join(t, NULL);
  if (ll())
    assert_int_not_equal(rc, 0);
  else
    assert_int_equal(rc, 0);
  /* Control: a job started after it was made reads it. */
  assert_int_equal(status(&job, "cat ~/later.txt", 1), 0);
  smoke_deny_fx_free(&f);
}


/* landlock-only mode takes a rule per entry beside each directory on the
 * way to a denied path: beyond the bound the job is refused before it
 * runs, naming the field; the other modes cover the path with one mount
 * whatever its neighbours. Control: the same job without deny_read. */
void smoke_deny_read_rule_bound(void** state) {
  smoke_deny_fx_t f;
  smoke_job_t job, plain;
  capsid_result_t r;
  char marker[1400], bound[32];

  (void)state;
  fx_make(&f);
  assert_int_equal(test_system("cd '%s/other' && seq 1 %d | xargs touch",
                               f.home, CAPSID__LL_DENY_RULES_MAX + 8),
                   0);
  snprintf(f.policy, sizeof(f.policy),
           "{\"mode\":\"workspace-write\",\"deny_read\":[\"~/other/1\"]}");
  snprintf(marker, sizeof(marker), "%s/sub/ran", f.ws);
  snprintf(bound, sizeof(bound), "%d", CAPSID__LL_DENY_RULES_MAX);
  job = (smoke_job_t){.cwd = f.ws, .network = -1, .policy = f.policy};
  plain = (smoke_job_t){.cwd = f.ws, .network = -1};
  smoke_run(&job, "echo x > sub/ran; cat ~/other/1", &r);
  if (ll()) {
    assert_int_equal(r.error.code, CAPSID_ENOTSUP);
    assert_string_equal(r.error.field, "policy.deny_read");
    assert_non_null(strstr(r.error.message, bound));
    assert_int_not_equal(access(marker, F_OK), 0);
  } else {
    smoke_check_ran(&r);
    assert_int_not_equal(r.exit_code, 0); /* the denied file is empty */
  }
  capsid_result_free(&r);
  assert_int_equal(status(&plain, "cat ~/other/1 && cat ~/plain.txt", 0), 0);
  smoke_deny_fx_free(&f);
}


/* A denied read is reported {read, path, deny_read} in every mode. */
void smoke_deny_read_reported(void** state) {
  smoke_deny_fx_t f;
  smoke_job_t job;
  capsid_result_t r;
  char want[1600];

  (void)state;
  fx_make(&f);
  job = (smoke_job_t){.cwd = f.ws, .network = -1, .policy = f.policy};
  smoke_sh(&job, "cat ~/token; exit 0", &r);
  snprintf(want, sizeof(want),
           "{\"op\":\"read\",\"path\":\"%s/token\",\"rule\":\"deny_read\"}",
           f.home);
  if (r.denials == NULL || strstr(r.denials, want) == NULL) {
    fprintf(stderr, "denials: %s\nstderr: %s\n", r.denials, r.err.data);
    fail();
  }
  capsid_result_free(&r);
  smoke_deny_fx_free(&f);
}
