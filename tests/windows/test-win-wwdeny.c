/* The Everyone-writable audit's deny ACEs (sandbox/win/wwdeny-win.h).
 *
 * A directory made Everyone-writable under a stand-in %PUBLIC% must be
 * found, denied to the default token's capability SIDs (the plan), and
 * recorded by the ACL engine so that uninstall takes the deny back; one
 * that only its owner may write, and an Everyone-writable one inside the
 * writable root, must not. The strict token needs no deny. Wine reads the
 * Everyone ACE back (it keeps DACLs it can map to file modes) but stores
 * no ACE for a capability SID: the deny's own read-back runs on Windows
 * (tests/windows/windows-smoke.ps1 and the enforcing branch here). */
#include "wintest-util.h"

#include "acl.h"
#include "audit-scan.h"
#include "env.h"
#include "grant-win.h"
#include "path.h"
#include "token-win.h"
#include "wwdeny-win.h"

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dir's DACL becomes: Everyone full control, inherited by what it holds. */
static void everyone_writable(const char* dir) {
  BYTE buf[256];
  ACL* acl = (ACL*)buf;

  assert_true(InitializeAcl(acl, sizeof(buf), ACL_REVISION));
  wt_add_ace(acl, "S-1-1-0", GENERIC_ALL | FILE_ALL_ACCESS,
             OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, 0);
  assert_int_equal(SetNamedSecurityInfoA((char*)dir, SE_FILE_OBJECT,
                                         DACL_SECURITY_INFORMATION |
                                             PROTECTED_DACL_SECURITY_INFORMATION,
                                         NULL, NULL, acl, NULL),
                   ERROR_SUCCESS);
}


static const capsid__acl_target_t* find(const capsid__acl_plan_t* p,
                                        const char* path) {
  size_t i;

  for (i = 0; i < p->n_targets; i++)
    if (capsid__path_is_within(p->targets[i].path, path) &&
        capsid__path_is_within(path, p->targets[i].path))
      return &p->targets[i];
  return NULL;
}


typedef struct fixture_s {
  char* pub;    /* stands in for %PUBLIC% */
  char* open;   /* pub/open: Everyone-writable */
  char* closed; /* pub/closed: not */
  char* ws;     /* the workspace (writable root) */
  char* inner;  /* ws/inner: Everyone-writable, inside the root */
  char* saved_public;
  capsid__sandbox_t sb;
  capsid__token_plan_t token;
} fixture_t;


static void fixture_init(fixture_t* f) {
  const char* old = getenv("PUBLIC");
  char* env;

  memset(f, 0, sizeof(*f));
  f->pub = wt_mkdtemp();
  f->ws = wt_mkdtemp();
  f->open = capsid__sprintf("%s/open", f->pub);
  f->closed = capsid__sprintf("%s/closed", f->pub);
  f->inner = capsid__sprintf("%s/inner", f->ws);
  assert_true(CreateDirectoryA(f->open, NULL));
  assert_true(CreateDirectoryA(f->closed, NULL));
  assert_true(CreateDirectoryA(f->inner, NULL));
  everyone_writable(f->open);
  everyone_writable(f->inner);
  f->saved_public = capsid__sprintf("PUBLIC=%s", old ? old : "");
  env = capsid__sprintf("PUBLIC=%s", f->pub);
  _putenv(env);
  capsid__free(env);
  capsid__ww_forget();
  f->sb.kind = CAPSID__POLICY_WORKSPACE_WRITE;
  f->sb.cwd = wt_canonical(f->ws);
  assert_int_equal(capsid__strv_push(&f->sb.writable, f->sb.cwd), 0);
  f->token.n = 1;
  assert_int_equal(wt_random_sid(f->token.sids[0]), 0);
}


static void fixture_free(fixture_t* f) {
  _putenv(f->saved_public);
  capsid__ww_forget();
  wt_rmtree(f->pub);
  wt_rmtree(f->ws);
  capsid__strv_free(&f->sb.writable);
  capsid__free(f->sb.cwd);
  capsid__free(f->saved_public);
  capsid__free(f->pub);
  capsid__free(f->open);
  capsid__free(f->closed);
  capsid__free(f->ws);
  capsid__free(f->inner);
}


static void test_ww_places(void** state) {
  capsid__strv_t places = {0};
  fixture_t f;
  char* pub;
  size_t i;

  (void)state;
  fixture_init(&f);
  pub = wt_canonical(f.pub);
  assert_int_equal(capsid__ww_places(f.sb.cwd, &places), 0);
  assert_true(capsid__strv_contains(&places, pub));
  assert_true(capsid__strv_contains(&places, f.sb.cwd));
  for (i = 0; i < places.n; i++) {
    /* canonical, no drive root, no repeats */
    assert_null(strchr(places.v[i], '\\'));
    assert_true(strlen(places.v[i]) > capsid__path_root_len(places.v[i]));
  }
  capsid__strv_free(&places);
  capsid__free(pub);
  fixture_free(&f);
}


/* The plan denies pub/open to the job's SID, and nothing else of ours. */
static void test_ww_deny_planned(void** state) {
  capsid__acl_plan_t acl;
  capsid_error_t err = {0};
  const capsid__acl_target_t* t;
  fixture_t f;
  size_t n = 0;

  (void)state;
  fixture_init(&f);
  memset(&acl, 0, sizeof(acl));
  acl.key = capsid__strdup(f.sb.cwd);
  assert_int_equal(capsid__ww_deny_plan(&f.sb, &f.token, &acl, &n, &err), 0);
  print_message("%u place(s) denied\n", (unsigned)n);
  t = find(&acl, f.open);
  assert_non_null(t);
  assert_int_equal(t->kind, CAPSID__ACL_T_DENY);
  assert_false(t->recursive);
  assert_true(t->optional);
  assert_int_equal(t->n_entries, 1);
  assert_string_equal(t->entries[0].who.sid, f.token.sids[0]);
  assert_int_equal(t->entries[0].perms, CAPSID__ACL_W | CAPSID__ACL_DENY);
  assert_null(find(&acl, f.closed)); /* control: not Everyone-writable */
  assert_null(find(&acl, f.inner));  /* inside the root: the job may */
  assert_true(n >= 1);
  capsid__acl_plan_free(&acl);

  /* The strict token has no Everyone: nothing to deny. */
  memset(&acl, 0, sizeof(acl));
  f.token.variant = CAPSID__TOKEN_STRICT;
  assert_int_equal(capsid__ww_deny_plan(&f.sb, &f.token, &acl, &n, &err), 0);
  assert_int_equal(n, 0);
  assert_int_equal(acl.n_targets, 0);
  capsid__acl_plan_free(&acl);
  fixture_free(&f);
}


/* A read-only job has no root: its workspace's Everyone-writable child is
 * denied too. */
static void test_ww_deny_read_only(void** state) {
  capsid__acl_plan_t acl;
  capsid_error_t err = {0};
  fixture_t f;
  size_t n = 0;

  (void)state;
  fixture_init(&f);
  capsid__strv_free(&f.sb.writable);
  f.sb.kind = CAPSID__POLICY_READ_ONLY;
  memset(&acl, 0, sizeof(acl));
  assert_int_equal(capsid__ww_deny_plan(&f.sb, &f.token, &acl, &n, &err), 0);
  assert_non_null(find(&acl, f.open));
  assert_non_null(find(&acl, f.inner));
  assert_null(find(&acl, f.closed));
  capsid__acl_plan_free(&acl);
  fixture_free(&f);
}


/* Written by the ACL engine into the workspace's record, and taken back by
 * uninstall's removal of every record. */
static void test_ww_deny_recorded_and_removed(void** state) {
  capsid__acl_plan_t acl;
  capsid__acl_info_t info;
  capsid__acl_stats_t stats;
  capsid_error_t err = {0};
  fixture_t f;
  size_t i;
  int rc, recorded = 0;

  (void)state;
  fixture_init(&f);
  memset(&acl, 0, sizeof(acl));
  acl.key = capsid__strdup(f.sb.cwd);
  assert_int_equal(capsid__ww_deny_plan(&f.sb, &f.token, &acl, NULL, &err), 0);
  rc = capsid__grant_ensure(&acl, &err);
  if (wt_enforcing()) {
    assert_int_equal(rc, 0);
    assert_true(wt_has_ace(f.open, f.token.sids[0], ACCESS_DENIED_ACE_TYPE));
  } else {
    /* Wine stores no ACE for a capability SID: the read-back names the
     * place and what to do. */
    assert_int_equal(rc, CAPSID_EVERIFY);
    assert_non_null(strstr(err.message, "writable by Everyone"));
    assert_non_null(strstr(err.message, "CAPSID_WIN_TOKEN=strict"));
  }
  capsid__error_free(&err);
  assert_int_equal(capsid__acl_info(capsid__state_dir(), f.sb.cwd, &info,
                                    NULL), 0);
  assert_true(info.present);
  for (i = 0; i < info.plan.n_targets; i++)
    recorded |= info.plan.targets[i].kind == CAPSID__ACL_T_DENY &&
                find(&info.plan, f.open) == &info.plan.targets[i];
  assert_true(recorded);
  capsid__acl_info_free(&info);

  memset(&stats, 0, sizeof(stats));
  assert_int_equal(capsid__acl_remove_all(capsid__state_dir(), 0, &stats,
                                          &err), 0);
  assert_false(wt_has_ace(f.open, f.token.sids[0], ACCESS_DENIED_ACE_TYPE));
  assert_int_equal(capsid__acl_info(capsid__state_dir(), f.sb.cwd, &info,
                                    NULL), 0);
  assert_false(info.present);
  capsid__acl_info_free(&info);
  capsid__acl_plan_free(&acl);
  fixture_free(&f);
}


static int has_finding(const capsid__acl_audit_t* a, const char* path) {
  size_t i;

  for (i = 0; i < a->n; i++)
    if (capsid__path_is_within(a->v[i].path, path) &&
        capsid__path_is_within(path, a->v[i].path))
      return 1;
  return 0;
}


static void count_progress(const capsid__acl_stats_t* s, void* data) {
  int* done = data;

  if (s->phase == CAPSID__ACL_PHASE_DONE)
    (*done)++;
}


static void scan_places(const char* const* dirs, int full, int* done,
                        capsid__acl_audit_t* out, capsid__acl_stats_t* st) {
  capsid__acl_scan_opts_t o;

  memset(&o, 0, sizeof(o));
  o.audit.dirs = dirs;
  o.audit.budget_ms = 60000; /* a loaded machine must not time it out */
  o.state_dir = capsid__state_dir();
  o.full = full;
  o.threads = 2;
  o.progress = count_progress;
  o.data = done;
  assert_int_equal(capsid__acl_audit_scan(&o, out, st), 0);
  assert_false(out->timed_out);
}


/* The scan runs its places on the pool, reports progress, and records
 * them: a re-scan lists no unchanged place again but still finds its
 * earlier finding, and a directory made Everyone-writable in a place
 * since is found (the place's change time moved). */
static void test_ww_scan_incremental(void** state) {
  capsid__acl_audit_t a;
  capsid__acl_stats_t st;
  fixture_t f;
  char* pub;
  char* ws;
  char* later;
  const char* dirs[3];
  int done = 0;

  (void)state;
  fixture_init(&f);
  pub = wt_canonical(f.pub);
  ws = wt_canonical(f.ws);
  dirs[0] = pub;
  dirs[1] = ws;
  dirs[2] = NULL;

  scan_places(dirs, 0, &done, &a, &st);
  assert_int_equal(done, 1);
  assert_true(st.full); /* no record yet */
  assert_int_equal(st.unchanged_dirs, 0);
  assert_true(has_finding(&a, f.open));
  assert_true(has_finding(&a, f.inner)); /* no roots given: reported */
  assert_false(has_finding(&a, f.closed));
  assert_true(st.dirs >= 3); /* open, closed, inner (and the places) */
  capsid__acl_audit_free(&a);

  /* Nothing moved: both places come from the record, only their
   * findings are looked at again (one each, plus each place itself). */
  scan_places(dirs, 0, &done, &a, &st);
  assert_int_equal(done, 2);
  assert_false(st.full);
  assert_int_equal(st.unchanged_dirs, 2);
  assert_int_equal(st.dirs + st.files, 4);
  assert_true(has_finding(&a, f.open));
  assert_true(has_finding(&a, f.inner));
  assert_false(has_finding(&a, f.closed));
  capsid__acl_audit_free(&a);

  /* A new Everyone-writable directory in pub: pub is listed again. */
  later = capsid__sprintf("%s/later", f.pub);
  assert_true(CreateDirectoryA(later, NULL));
  everyone_writable(later);
  scan_places(dirs, 0, &done, &a, &st);
  assert_int_equal(st.unchanged_dirs, 1); /* ws only */
  assert_true(has_finding(&a, later));
  assert_true(has_finding(&a, f.open));
  capsid__acl_audit_free(&a);

  /* full ignores the record. */
  scan_places(dirs, 1, &done, &a, &st);
  assert_true(st.full);
  assert_int_equal(st.unchanged_dirs, 0);
  assert_true(has_finding(&a, later));
  capsid__acl_audit_free(&a);

  capsid__free(later);
  capsid__free(pub);
  capsid__free(ws);
  fixture_free(&f);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ww_places),
      cmocka_unit_test(test_ww_deny_planned),
      cmocka_unit_test(test_ww_deny_read_only),
      cmocka_unit_test(test_ww_deny_recorded_and_removed),
      cmocka_unit_test(test_ww_scan_incremental),
  };
  capsid_init(CAPSID_INIT_UV_ALLOCATOR);
  return cmocka_run_group_tests(tests, wt_state_setup, wt_state_teardown);
}
