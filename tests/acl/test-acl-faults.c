/* An apply interrupted at any point (a write, an open, the record) leaves
 * every ACL either as it was or as planned, and a record from which the
 * next run finishes the job, and from which revoke restores exactly what
 * was there before. */
#include "acl-test-util.h"

#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char name[256];
  char access[1024];
  char dflt[1024];
} facl_t;

typedef struct {
  facl_t v[64];
  int n;
} facls_t;


/* getfacl -R output, split per file into its access and default parts. */
static void split(const char* text, facls_t* out) {
  const char* p = text;
  const char* eol;
  facl_t* cur = NULL;
  size_t len;

  memset(out, 0, sizeof(*out));
  while (*p) {
    eol = strchr(p, '\n');
    len = eol ? (size_t)(eol - p) : strlen(p);
    if (len > 8 && strncmp(p, "# file: ", 8) == 0) {
      assert_true(out->n < 64);
      cur = &out->v[out->n++];
      snprintf(cur->name, sizeof(cur->name), "%.*s", (int)(len - 8), p + 8);
    } else if (cur != NULL && len > 0 && p[0] != '#') {
      char* dst = strncmp(p, "default:", 8) == 0 ? cur->dflt : cur->access;
      strncat(dst, p, len);
      strcat(dst, "\n");
    }
    p = eol ? eol + 1 : p + len;
  }
}


static const facl_t* find(const facls_t* s, const char* name) {
  int i;

  for (i = 0; i < s->n; i++)
    if (strcmp(s->v[i].name, name) == 0)
      return &s->v[i];
  fail_msg("no %s in getfacl output", name);
  return NULL;
}


/* Every ACL of every inode is the old one or the planned one. */
static void assert_old_or_new(const char* now_text, const facls_t* old,
                              const facls_t* neu, const char* what) {
  facls_t now;
  const facl_t *o, *n;
  int i;

  split(now_text, &now);
  assert_int_equal(now.n, old->n);
  for (i = 0; i < now.n; i++) {
    o = find(old, now.v[i].name);
    n = find(neu, now.v[i].name);
    if (strcmp(now.v[i].access, o->access) != 0 &&
        strcmp(now.v[i].access, n->access) != 0)
      fail_msg("%s: %s: access ACL is neither old nor new:\n%s", what,
               now.v[i].name, now.v[i].access);
    if (strcmp(now.v[i].dflt, o->dflt) != 0 &&
        strcmp(now.v[i].dflt, n->dflt) != 0)
      fail_msg("%s: %s: default ACL is neither old nor new:\n%s", what,
               now.v[i].name, now.v[i].dflt);
  }
}


static void test_interrupted_apply_is_old_or_new(void** state) {
  static const char* sites[] = {"acl.setxattr", "acl.open",
                                "acl.record.write", "acl.record.rename"};
  static const int counts[] = {16, 6, 3, 3};
  static const char* errnos[] = {"EIO", "EMFILE", "ENOSPC", "EIO"};
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  fixture_t f;
  facls_t *old, *neu;
  char *old_text, *new_text, *now, spec[128], tmpl[1100], ref[1100];
  size_t si;
  int n, rc, failures = 0;

  (void)state;
  fixture_new(&f);
  old = capsid__malloc(sizeof(*old));
  neu = capsid__malloc(sizeof(*neu));
  /* The template: the fixture's tree, one existing entry, one more dir. */
  snprintf(tmpl, sizeof(tmpl), "%s/template", f.root);
  snprintf(ref, sizeof(ref), "%s/ref", f.root);
  assert_int_equal(test_system("cd '%s' && setfacl -m u:4242:r-- top && "
                               "mkdir -p e/f && echo g > e/f/g && mv '%s' "
                               "'%s' && cp -a '%s' '%s'",
                               f.ws, f.ws, tmpl, tmpl, ref), 0);
  old_text = acl_facls(tmpl);
  simple_plan(ref, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  capsid__acl_plan_free(&plan);
  new_text = acl_facls(ref);
  split(old_text, old);
  split(new_text, neu);

  for (si = 0; si < CAPSID__ARRAY_SIZE(sites); si++) {
    for (n = 1; n <= counts[si]; n++) {
      assert_int_equal(test_system("rm -rf '%s' '%s' && cp -a '%s' '%s'",
                                   f.ws, f.state, tmpl, f.ws), 0);
      simple_plan(f.ws, &plan);
      snprintf(spec, sizeof(spec), "%s=%d:%s", sites[si], n, errnos[si]);
      capsid__fault_set(spec);
      rc = run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st);
      capsid__fault_set(NULL);
      failures += rc != 0;
      now = acl_facls(f.ws);
      assert_old_or_new(now, old, neu, spec);
      free(now);

      /* Revoke from whatever record the interruption left: exactly the
       * ACLs from before. */
      assert_int_equal(run_plan(CAPSID__ACL_REVOKE, &plan, f.state, &st), 0);
      now = acl_facls(f.ws);
      if (strcmp(now, old_text) != 0)
        fail_msg("%s: revoke did not restore:\n%s", spec, now);
      free(now);

      /* The next apply finishes the job. */
      assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
      now = acl_facls(f.ws);
      if (strcmp(now, new_text) != 0)
        fail_msg("%s: the apply after did not finish:\n%s", spec, now);
      free(now);

      /* An interruption after the apply's writes, then an unchanged
       * re-apply: nothing to do, nothing wrongly skipped. */
      capsid__fault_set(spec);
      run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st);
      capsid__fault_set(NULL);
      assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
      now = acl_facls(f.ws);
      assert_string_equal(now, new_text);
      free(now);
      capsid__acl_plan_free(&plan);
    }
  }
  /* The faults did hit: most of these applies failed. */
  assert_true(failures > 20);
  free(old_text);
  free(new_text);
  capsid__free(old);
  capsid__free(neu);
  fixture_free(&f);
}


static void die_hook(capsid__acl_dir_t d, const char* name) {
  (void)d;
  if (strcmp(name, "f") == 0)
    _exit(7); /* killed in the middle of the walk */
}


/* Applies plan in a child that dies (exit 7) when the walk reaches "f";
 * returns the child's wait status. A walk that ends without reaching it
 * says on stderr how it ended, so an exit 0 can be read from the log. */
static int apply_killed_at_f(const capsid__acl_plan_t* plan,
                             const char* state) {
  capsid__acl_stats_t st;
  capsid_error_t err = {0};
  char msg[512];
  int status, rc;
  pid_t pid = fork();

  assert_true(pid >= 0);
  if (pid == 0) {
    capsid__acl_test_hook = die_hook;
    memset(&st, 0, sizeof(st));
    rc = run_plan_err(CAPSID__ACL_APPLY, plan, state, &st, &err);
    fprintf(stderr, "the apply ended (%d: %s) without reaching \"f\": "
            "%zu dirs, %zu files\n", rc,
            rc ? capsid_error_format(&err, msg, sizeof(msg)) : "no error",
            (size_t)st.dirs, (size_t)st.files);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}


static void test_killed_apply_is_revoked_from_its_record(void** state) {
  capsid__acl_plan_t plan, other;
  capsid__acl_stats_t st;
  capsid__acl_entry_t e;
  fixture_t f;
  char *old_text, *now, ref[1100];
  int status;

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("cd '%s' && mkdir -p e/f/h && echo g > "
                               "e/f/g && echo i > e/i", f.ws), 0);
  snprintf(ref, sizeof(ref), "%s/ref", f.root);
  assert_int_equal(test_system("cp -a '%s' '%s'", f.ws, ref), 0);
  old_text = acl_facls(f.ws);
  simple_plan(f.ws, &plan);
  status = apply_killed_at_f(&plan, f.state);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
  /* Some grants were written before the kill. */
  now = acl_facls(f.ws);
  assert_string_not_equal(now, old_text);
  free(now);
  /* Revoke, asked with a plan that names somebody else entirely: what to
   * remove comes from the record written before the first change. */
  memset(&e, 0, sizeof(e));
  e.who.kind = CAPSID__ACL_USER;
  e.who.id = 4444;
  e.perms = CAPSID__ACL_R;
  e.scope = CAPSID__ACL_ACCESS;
  assert_int_equal(capsid__acl_plan_simple(f.ws, &e, 1, &other), 0);
  assert_int_equal(run_plan(CAPSID__ACL_REVOKE, &other, f.state, &st), 0);
  now = acl_facls(f.ws);
  assert_string_equal(now, old_text);
  free(now);
  /* Killed again, then applied: the next apply walks everything. */
  status = apply_killed_at_f(&plan, f.state);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(st.full);
  {
    capsid__acl_plan_t rp;
    char* want;
    simple_plan(ref, &rp);
    assert_int_equal(run_plan(CAPSID__ACL_APPLY, &rp, f.state, &st), 0);
    want = acl_facls(ref);
    now = acl_facls(f.ws);
    assert_string_equal(now, want);
    free(want);
    free(now);
    capsid__acl_plan_free(&rp);
  }
  free(old_text);
  capsid__acl_plan_free(&plan);
  capsid__acl_plan_free(&other);
  fixture_free(&f);
}


/* A directory removed between its open and its listing (a parallel
 * job's placeholder taken down) is gone, not an error: the apply, and
 * the job whose post-job pass it is, succeed. */
static void test_directory_gone_before_listing(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  fixture_t f;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  capsid__fault_set("acl.list=2:ENOENT");
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  capsid__fault_set(NULL);
  assert_int_equal(st.errors, 0);
  /* The control: any other listing failure is an error. */
  assert_int_equal(test_system("rm -rf '%s'", f.state), 0);
  capsid__fault_set("acl.list=2:EIO");
  assert_int_not_equal(
      run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  capsid__fault_set(NULL);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interrupted_apply_is_old_or_new),
      cmocka_unit_test(test_killed_apply_is_revoked_from_its_record),
      cmocka_unit_test(test_directory_gone_before_listing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
