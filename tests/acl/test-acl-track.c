/* The tracked apply (opts.touched, acl/track.c) fed by the change watch
 * (acl/linux/watch-linux.c): after every kind of change a job can make it
 * leaves the tree and the record exactly as a check of every recorded
 * directory would, while looking only where the watch saw changes. */
#include "acl-test-util.h"

#include "watch-linux.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* fanotify filesystem marks need CAP_SYS_ADMIN. */
static int watch_or_skip(const capsid__acl_plan_t* plan,
                         capsid__acl_watch_t** w) {
  int rc = capsid__acl_watch_start(plan, w);

  if (rc != 0 && getenv("CAPSID_NO_SKIP") == NULL && geteuid() != 0) {
    fprintf(stderr, "skip: fanotify filesystem marks need root\n");
    return 0;
  }
  assert_int_equal(rc, 0);
  return 1;
}


static int has_in(const fixture_t* f, const char* rel, const char* entry) {
  char* p = capsid__sprintf("%s/%s", f->ws, rel);
  int r = acl_has(p, entry);

  capsid__free(p);
  return r;
}


static int apply_touched(const capsid__acl_plan_t* plan, const char* state,
                         const capsid__acl_touched_t* t,
                         capsid__acl_stats_t* st) {
  capsid__acl_opts_t o;
  capsid_error_t err = {0};
  int rc;

  memset(&o, 0, sizeof(o));
  o.state_dir = state;
  o.threads = 2;
  o.touched = t;
  rc = capsid__acl_run(CAPSID__ACL_APPLY, plan, &o, st, &err);
  capsid__error_free(&err);
  return rc;
}


static size_t recorded_dirs(const capsid__acl_plan_t* plan,
                            const char* state) {
  capsid__acl_record_t rec;
  capsid_error_t err = {0};
  char* path = capsid__acl_record_path(state, plan->key, ".rec");
  size_t i, n = 0;
  int missing = 0;

  assert_int_equal(capsid__acl_record_load(path, &rec, &err, &missing), 0);
  assert_false(missing);
  for (i = 0; i < rec.n_targets; i++)
    n += rec.targets[i].n_dirs;
  capsid__acl_record_free(&rec);
  capsid__free(path);
  capsid__error_free(&err);
  return n;
}


/* The record and the tree agree: a status (the record's check of every
 * directory) finds no drift and nothing to write, and neither does a
 * walk of everything. */
static void assert_exact(const capsid__acl_plan_t* plan, const char* state,
                         const char* ws) {
  capsid__acl_stats_t st;
  capsid__acl_opts_t o;
  capsid_error_t err = {0};
  char* n;

  assert_int_equal(run_plan(CAPSID__ACL_STATUS, plan, state, &st), 0);
  assert_int_equal(st.drifted, 0);
  assert_int_equal(st.changed, 0);
  n = NULL;
  {
    FILE* p;
    char cmd[1200], line[64];
    snprintf(cmd, sizeof(cmd), "find '%s' -type d | wc -l", ws);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    /* Every directory of the tree is recorded and unchanged, and the
     * record holds no other (a path that names nothing now). */
    assert_int_equal(st.unchanged_dirs, strtoull(line, &n, 10));
    assert_int_equal(recorded_dirs(plan, state), st.unchanged_dirs);
  }
  memset(&o, 0, sizeof(o));
  o.state_dir = state;
  o.full = 1;
  assert_int_equal(capsid__acl_run(CAPSID__ACL_STATUS, plan, &o, &st, &err),
                   0);
  assert_int_equal(st.changed, 0);
  capsid__error_free(&err);
}


/* Every kind of change at once: files and subtrees created, a directory
 * moved in from outside (no grant of its own), one renamed within, one
 * removed, one replaced by another under the same name, a file's mode
 * narrowed (its mask), a hard link made. */
static void test_tracked_apply_is_exact(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  capsid__acl_touched_t t;
  capsid__acl_watch_t* w = NULL;
  fixture_t f;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  if (!watch_or_skip(&plan, &w)) {
    capsid__acl_plan_free(&plan);
    fixture_free(&f);
    return;
  }
  assert_int_equal(test_system("cd '%s' && mkdir -p x/y/z d/e keep/k && "
                               "echo 1 > x/y/z/f && echo 2 > d/e/g",
                               f.ws),
                   0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(st.full);
  /* Nothing happened since: an empty set, nothing looked at but the
   * root. */
  memset(&t, 0, sizeof(t));
  assert_int_equal(capsid__acl_watch_drain(w, &t), 0);
  assert_int_equal(apply_touched(&plan, f.state, &t, &st), 0);
  assert_false(st.full);
  assert_int_equal(st.changed, 0);
  assert_int_equal(st.files, 0);
  capsid__acl_touched_free(&t);

  assert_int_equal(
      test_system("cd '%s' && echo n > a/b/new && mkdir -p fresh/p/q && "
                  "echo y > fresh/p/q/y && mkdir -p '%s/in/deep' && "
                  "echo s > '%s/in/deep/s' && mv '%s/in' a/moved-in && "
                  "mv x/y x/renamed && rm -r d/e && rm -r keep/k && "
                  "mkdir keep/k && echo r > keep/k/r && chmod 600 top && "
                  "ln a/one a/b/hard",
                  f.ws, f.root, f.root, f.root),
      0);
  memset(&t, 0, sizeof(t));
  assert_int_equal(capsid__acl_watch_drain(w, &t), 0);
  assert_true(t.n > 0);
  assert_int_equal(apply_touched(&plan, f.state, &t, &st), 0);
  assert_false(st.full);
  capsid__acl_touched_free(&t);
  /* What moved in got the grant, beneath too; the narrowed file its mask
   * back; the link was left alone, as by a full walk. */
  assert_true(has_in(&f, "a/moved-in/deep/s", "user:61001:rw-"));
  assert_true(has_in(&f, "a/moved-in/deep", "default:user:61001:rwx"));
  assert_true(has_in(&f, "a/b/new", "user:61001:rw-"));
  assert_true(has_in(&f, "fresh/p/q/y", "user:61001:rw-"));
  assert_true(has_in(&f, "keep/k/r", "user:61001:rw-"));
  assert_true(has_in(&f, "top", "mask::rw-"));
  assert_true(has_in(&f, "x/renamed/z/f", "user:61001:rw-"));
  assert_int_equal(st.skipped_links, 2); /* a/one and a/b/hard */
  assert_exact(&plan, f.state, f.ws);

  capsid__acl_watch_free(w);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


/* What the set does not name is not looked at: a change the watch did
 * not report stays undone (a missing grant, which only denies) and the
 * directory keeps its recorded state, so the next check of every
 * directory finds it. Never a wrong skip recorded as done. */
static void test_unreported_change_is_found_later(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  capsid__acl_touched_t none;
  fixture_t f;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_int_equal(test_system("mkdir '%s/outside' && echo o > "
                               "'%s/outside/o' && mv '%s/outside' '%s/a/b/in'",
                               f.root, f.root, f.root, f.ws),
                   0);
  memset(&none, 0, sizeof(none));
  assert_int_equal(apply_touched(&plan, f.state, &none, &st), 0);
  assert_false(has_in(&f, "a/b/in/o", "user:61001:rw-"));
  assert_int_equal(run_plan(CAPSID__ACL_STATUS, &plan, f.state, &st), 0);
  assert_int_equal(st.drifted, 1); /* a/b: recorded as it was */
  /* The control: the same change named, or found by the full check. */
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(has_in(&f, "a/b/in/o", "user:61001:rw-"));
  assert_exact(&plan, f.state, f.ws);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


/* More events than the kernel queues: the drain says so, and keeps
 * saying so after a pass given its result failed. */
static void test_overflow_reports_lost(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_touched_t t;
  capsid__acl_watch_t* w = NULL;
  fixture_t f;
  char path[1200];
  int i, fd;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  if (!watch_or_skip(&plan, &w)) {
    capsid__acl_plan_free(&plan);
    fixture_free(&f);
    return;
  }
  /* fs.fanotify.max_queued_events is 16384 by default. */
  for (i = 0; i < 20000; i++) {
    snprintf(path, sizeof(path), "%s/a/f%d", f.ws, i);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
  }
  memset(&t, 0, sizeof(t));
  assert_int_equal(capsid__acl_watch_drain(w, &t), CAPSID_ERANGE);
  capsid__acl_touched_free(&t);
  /* Drained: quiet again. */
  assert_int_equal(capsid__acl_watch_drain(w, &t), 0);
  capsid__acl_watch_lost(w);
  assert_int_equal(capsid__acl_watch_drain(w, &t), CAPSID_ERANGE);
  capsid__acl_touched_free(&t);
  capsid__acl_watch_free(w);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


/* A directory a job made is handed back to the owner (a chown, which
 * moves its ctime): the record holds its state after that, so the next
 * check finds it unchanged rather than listing it again forever. */
static void test_hand_back_is_recorded_after(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  capsid__acl_opts_t o;
  capsid_error_t err = {0};
  fixture_t f;

  (void)state;
  if (geteuid() != 0) {
    assert_null(getenv("CAPSID_NO_SKIP"));
    fprintf(stderr, "skip: handing back needs root (chown)\n");
    return;
  }
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_int_equal(test_system("mkdir -p '%s/a/made/sub' && chown -R %u "
                               "'%s/a/made'",
                               f.ws, TEST_UID, f.ws),
                   0);
  memset(&o, 0, sizeof(o));
  o.state_dir = f.state;
  o.reclaim = CAPSID__ACL_RECLAIM_HAND_BACK;
  o.reclaim_uid = TEST_UID;
  assert_int_equal(capsid__acl_run(CAPSID__ACL_APPLY, &plan, &o, &st, &err),
                   0);
  capsid__error_free(&err);
  assert_int_equal(test_system("test \"$(stat -c %%u '%s/a/made/sub')\" = "
                               "\"$(stat -c %%u '%s')\"",
                               f.ws, f.ws),
                   0);
  assert_exact(&plan, f.state, f.ws);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


/* An optional target walked while it existed (a job's placeholder) and
 * gone now: nothing of it to check, the record stays complete, and the
 * next apply is incremental, not a full walk of every target. */
static void test_vanished_optional_target(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  capsid__acl_entry_t e;
  fixture_t f;
  char* ph;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  ph = capsid__sprintf("%s/.codex", f.ws);
  memset(&e, 0, sizeof(e));
  e.who.kind = CAPSID__ACL_USER;
  e.who.id = TEST_UID;
  e.perms = CAPSID__ACL_R | CAPSID__ACL_XCOND;
  e.scope = CAPSID__ACL_ACCESS;
  assert_int_equal(capsid__acl_plan_add(&plan, CAPSID__ACL_T_READ_ONLY, ph,
                                        1, 1, &e, 1),
                   0);
  assert_int_equal(test_system("mkdir '%s'", ph), 0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_int_equal(test_system("rmdir '%s'", ph), 0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_int_equal(st.errors, 0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_false(st.full);
  assert_int_equal(st.files, 0);
  capsid__free(ph);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tracked_apply_is_exact),
      cmocka_unit_test(test_unreported_change_is_found_later),
      cmocka_unit_test(test_overflow_reports_lost),
      cmocka_unit_test(test_hand_back_is_recorded_after),
      cmocka_unit_test(test_vanished_optional_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
