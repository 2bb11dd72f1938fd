/* The walker on real trees: what it writes, what it merges, what it
 * records, and that revoke gives back exactly the ACLs that were there. */
#include "acl-test-util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char* path_in(const fixture_t* f, const char* rel) {
  return capsid__sprintf("%s/%s", f->ws, rel);
}


static int has_in(const fixture_t* f, const char* rel, const char* entry) {
  char* p = path_in(f, rel);
  int r = acl_has(p, entry);

  capsid__free(p);
  return r;
}


static void test_apply_grants_like_setfacl(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  fixture_t f;
  char* out_before;
  char* out_after;
  char ref[1100];

  (void)state;
  fixture_new(&f);
  out_before = acl_snapshot(f.out);
  /* The same tree again, given to setfacl: the reference. */
  snprintf(ref, sizeof(ref), "%s/ref", f.root);
  assert_int_equal(test_system("cp -a '%s' '%s' && setfacl -R -m "
                               "u:%u:rwX,d:u:%u:rwX '%s'",
                               f.ws, ref, TEST_UID, TEST_UID, ref),
                   0);
  simple_plan(f.ws, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(st.full);
  assert_int_equal(st.dirs, 4);  /* ws, a, a/b, a/b/c */
  assert_int_equal(st.files, 3); /* top, a/one, a/b/two */
  assert_int_equal(st.changed, 7);
  assert_int_equal(st.errors, 0);
  assert_true(has_in(&f, "top", "user:61001:rw-"));
  assert_true(has_in(&f, "a/b/two", "user:61001:rwx")); /* X: executable */
  assert_true(has_in(&f, "a/b", "default:user:61001:rwx"));
  /* Identical to what setfacl made of the same tree (ctime aside). */
  assert_int_equal(test_system("cd '%s' && getfacl -R -P -p . > ../g1 && cd "
                               "'%s' && getfacl -R -P -p . > ../g2 && cmp -s "
                               "../g1 ../g2",
                               f.ws, ref),
                   0);
  out_after = acl_snapshot(f.out);
  assert_string_equal(out_before, out_after);
  free(out_before);
  free(out_after);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


/* POSIX ACLs cannot deny: a deny entry (what the Windows launcher puts on
 * protected paths) is refused before anything is written, never read as
 * a grant of the rights it takes away. */
static void test_deny_entry_refused(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  capsid__acl_entry_t e;
  fixture_t f;
  char* before;
  char* after;

  (void)state;
  fixture_new(&f);
  before = acl_snapshot(f.ws);
  memset(&e, 0, sizeof(e));
  e.who.kind = CAPSID__ACL_USER;
  e.who.id = TEST_UID;
  e.perms = CAPSID__ACL_W | CAPSID__ACL_DENY;
  e.scope = CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT;
  assert_int_equal(capsid__acl_plan_simple(f.ws, &e, 1, &plan), 0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st),
                   CAPSID_EINVAL);
  assert_int_equal(st.changed, 0);
  after = acl_snapshot(f.ws);
  assert_string_equal(before, after);
  assert_false(has_in(&f, "top", "user:61001:-w-"));
  free(before);
  free(after);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


static void test_merge_keeps_entries_and_revoke_restores(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  capsid__acl_info_t info;
  capsid_error_t err = {0};
  char *before, *after, *rec;
  fixture_t f;

  (void)state;
  fixture_new(&f);
  /* Somebody else's entries, access and default, before capsid. */
  assert_int_equal(test_system("setfacl -m u:4242:r--,g:4343:rw- '%s/top' && "
                               "setfacl -m d:u:4242:r-x '%s/a' && "
                               "setfacl -m u:4242:--x '%s/a/b'",
                               f.ws, f.ws, f.ws),
                   0);
  before = acl_facls(f.ws);
  simple_plan(f.ws, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(has_in(&f, "top", "user:4242:r--"));
  assert_true(has_in(&f, "top", "group:4343:rw-"));
  assert_true(has_in(&f, "top", "user:61001:rw-"));
  assert_true(has_in(&f, "a", "default:user:4242:r-x"));
  assert_true(has_in(&f, "a", "default:user:61001:rwx"));
  assert_true(has_in(&f, "a/b", "user:4242:--x"));

  assert_int_equal(capsid__acl_info(f.state, f.ws, &info, &err), 0);
  assert_true(info.present);
  assert_true(info.complete);
  assert_int_equal(info.n_dirs, 4);
  capsid__acl_info_free(&info);

  assert_int_equal(run_plan(CAPSID__ACL_REVOKE, &plan, f.state, &st), 0);
  assert_false(has_in(&f, "top", "user:61001:rw-"));
  assert_true(has_in(&f, "top", "user:4242:r--"));
  after = acl_facls(f.ws);
  /* getfacl -R output equal (ctimes moved: revoke had to write). */
  assert_string_equal(before, after);
  /* The record is gone with the grants. */
  rec = capsid__acl_record_path(f.state, f.ws, ".rec");
  assert_int_not_equal(access(rec, F_OK), 0);
  capsid__free(rec);
  free(before);
  free(after);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


/* A file whose mode masked its inherited group entry (a job's
 * `chmod 600` under a default ACL: group::r-x, mask::---) keeps its
 * owning group out when capsid widens the mask for its own entries;
 * setfacl -m would make it group-readable. Control: capsid's entry is
 * effective again. */
static void test_mask_widening_keeps_group_out(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  fixture_t f;

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("cd '%s' && setfacl -m u:61001:rw-,g::r-x top "
                               "&& chmod 600 top && getfacl -p top | grep -q "
                               "'^mask::---'",
                               f.ws),
                   0);
  simple_plan(f.ws, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(has_in(&f, "top", "group::---"));
  assert_true(has_in(&f, "top", "mask::rw-"));
  assert_true(has_in(&f, "top", "user:61001:rw-"));
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


static void test_reapply_is_incremental(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  fixture_t f;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_false(st.full);
  assert_int_equal(st.changed, 0);
  assert_int_equal(st.unchanged_dirs, 4);
  assert_int_equal(st.files, 0); /* not one file looked at */

  /* A new file, a new subtree, a renamed directory. */
  assert_int_equal(test_system("cd '%s' && echo n > a/b/new && mkdir -p "
                               "fresh/x && echo y > fresh/x/y && mv a/b/c "
                               "a/b/moved",
                               f.ws),
                   0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_false(st.full);
  /* The new inodes inherited the default ACL; the two new files were
   * created 0644, which masked the inherited rwx down to r--, and only
   * those two needed a write (the entry becomes rw-, the mask rw-).
   * a/b/moved keeps its ACL (a rename keeps the inode). */
  assert_int_equal(st.changed, 2);
  assert_true(has_in(&f, "a/b/new", "user:61001:rw-"));
  assert_true(has_in(&f, "fresh/x/y", "user:61001:rw-"));
  assert_true(has_in(&f, "a/b/moved", "user:61001:rwx"));

  /* Forcing a full walk finds nothing else to do. */
  {
    capsid__acl_opts_t o;
    capsid_error_t err = {0};
    memset(&o, 0, sizeof(o));
    o.state_dir = f.state;
    o.full = 1;
    assert_int_equal(capsid__acl_run(CAPSID__ACL_APPLY, &plan, &o, &st, &err),
                     0);
    assert_true(st.full);
    assert_int_equal(st.changed, 0);
  }
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


static void test_corrupt_record_means_full_walk(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  fixture_t f;
  char* rec;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  rec = capsid__acl_record_path(f.state, f.ws, ".rec");
  /* Torn: cut in half. Then a new file that only a walk would find. */
  assert_int_equal(test_system("truncate -s %%50 '%s' && echo z > '%s/a/z'",
                               rec, f.ws),
                   0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(st.full);
  assert_true(has_in(&f, "a/z", "user:61001:rw-"));
  /* Garbage of the right size. */
  assert_int_equal(test_system("head -c 4000 /dev/urandom > '%s' && echo w > "
                               "'%s/a/b/w'",
                               rec, f.ws),
                   0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(st.full);
  assert_true(has_in(&f, "a/b/w", "user:61001:rw-"));
  /* And the record is whole again. */
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_false(st.full);
  capsid__free(rec);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


static void test_plan_change_takes_back_old_entries(void** state) {
  capsid__acl_plan_t plan, plan2;
  capsid__acl_entry_t e;
  capsid__acl_stats_t st;
  fixture_t f;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  /* The workspace moves to another identity: the old one must go. */
  memset(&e, 0, sizeof(e));
  e.who.kind = CAPSID__ACL_USER;
  e.who.id = 61002;
  e.perms = CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_XCOND;
  e.scope = CAPSID__ACL_ACCESS;
  assert_int_equal(capsid__acl_plan_simple(f.ws, &e, 1, &plan2), 0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan2, f.state, &st), 0);
  assert_true(st.full);
  assert_true(has_in(&f, "a/one", "user:61002:rw-"));
  assert_false(has_in(&f, "a/one", "user:61001:rw-"));
  assert_false(has_in(&f, "a", "default:user:61001:rwx"));
  assert_int_equal(run_plan(CAPSID__ACL_REVOKE, &plan2, f.state, &st), 0);
  assert_false(acl_extended(f.ws));
  assert_int_equal(test_system("getfacl -R -s -p '%s' | grep -q .", f.ws), 1);
  capsid__acl_plan_free(&plan);
  capsid__acl_plan_free(&plan2);
  fixture_free(&f);
}


/* The full plan from a resolved sandbox: .git stays read-only. */
static void test_sandbox_plan_protects_git(void** state) {
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  capsid__policy_t pol;
  capsid__sandbox_t sb;
  capsid__resolve_in_t rin;
  capsid_error_t err = {0};
  fixture_t f;
  size_t i;

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("mkdir -p '%s/.git/objects' && echo r > "
                               "'%s/.git/HEAD'", f.ws, f.ws), 0);
  assert_int_equal(capsid__policy_parse("workspace-write", &pol, &err), 0);
  memset(&rin, 0, sizeof(rin));
  rin.cwd = f.ws;
  rin.network = -1;
  assert_int_equal(capsid__sandbox_resolve(&pol, &rin, &sb, &err), 0);
  memset(&in, 0, sizeof(in));
  in.sandbox = &sb;
  in.ids.workspace.kind = CAPSID__ACL_USER;
  in.ids.workspace.id = TEST_UID;
  in.ids.owner.kind = CAPSID__ACL_USER;
  in.ids.owner.id = 4242;
  in.ids.users.kind = in.ids.read_only.kind = CAPSID__ACL_GROUP;
  in.ids.users.id = 61000;
  in.ids.read_only.id = 61003;
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  /* Only what lies in the scratch area: no traverse entries on the
   * machine's own directories from a test. */
  for (i = 0; i < plan.n_targets; i++)
    if (plan.targets[i].kind == CAPSID__ACL_T_TRAVERSE)
      plan.targets[i].optional = 1, plan.targets[i].kind =
          CAPSID__ACL_T_TRAVERSE;
  while (plan.n_targets > 0 &&
         plan.targets[plan.n_targets - 1].kind == CAPSID__ACL_T_TRAVERSE) {
    capsid__acl_target_t* t = &plan.targets[--plan.n_targets];
    capsid__free(t->path);
    capsid__free(t->entries);
  }
  assert_int_equal(plan.n_targets, 2);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(has_in(&f, "a/one", "user:61001:rw-"));
  assert_true(has_in(&f, "a", "default:user:4242:rwx"));
  assert_true(has_in(&f, ".git/HEAD", "user:61001:r--"));
  assert_true(has_in(&f, ".git/objects", "user:61001:r-x"));
  assert_true(has_in(&f, ".git", "default:user:61001:r-x"));
  assert_false(has_in(&f, ".git/HEAD", "user:61001:rw-"));
  /* Unchanged: the record covers both targets. */
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_false(st.full);
  assert_int_equal(st.changed, 0);
  assert_int_equal(run_plan(CAPSID__ACL_REVOKE, &plan, f.state, &st), 0);
  assert_int_equal(test_system("getfacl -R -s -p '%s' | grep -q .", f.ws), 1);
  capsid__acl_plan_free(&plan);
  capsid__sandbox_free(&sb);
  capsid__policy_free(&pol);
  fixture_free(&f);
}


/* ---- one writer per workspace ---- */

typedef struct {
  int done;
  int status;
  capsid__acl_op_t* op;
  capsid__acl_stats_t stats;
} wait_t;


static void on_done(capsid__acl_op_t* op, int status,
                    const capsid__acl_stats_t* stats,
                    const capsid_error_t* err, void* data) {
  wait_t* w = data;

  (void)op, (void)err;
  w->done = 1;
  w->status = status;
  w->stats = *stats;
}


static void test_lock_serialises_writers(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t st;
  capsid__pool_t* pool;
  capsid_error_t err = {0};
  uv_loop_t loop;
  wait_t w = {0};
  fixture_t f;
  char* lock;
  int fd;

  (void)state;
  fixture_new(&f);
  simple_plan(f.ws, &plan);
  assert_int_equal(test_system("mkdir -p '%s/acl'", f.state), 0);
  lock = capsid__acl_record_path(f.state, f.ws, ".lock");
  /* Another writer (another process, as far as flock can tell). */
  fd = open(lock, O_RDWR | O_CREAT, 0600);
  assert_true(fd >= 0);
  assert_int_equal(flock(fd, LOCK_EX), 0);

  memset(&opts, 0, sizeof(opts));
  opts.state_dir = f.state;
  opts.no_wait = 1;
  assert_int_equal(capsid__acl_run(CAPSID__ACL_APPLY, &plan, &opts, &st,
                                   &err),
                   CAPSID_EBUSY);
  capsid__error_free(&err);
  assert_false(has_in(&f, "top", "user:61001:rw-"));

  /* A waiting op sits in LOCKING, changes nothing, and goes on once the
   * lock is free. */
  opts.no_wait = 0;
  uv_loop_init(&loop);
  assert_int_equal(capsid__pool_new(&loop, 2, &pool), 0);
  assert_int_equal(capsid__acl_op_start(&loop, pool, CAPSID__ACL_APPLY, &plan,
                                        &opts, on_done, &w, &w.op),
                   0);
  for (;;) {
    capsid__acl_op_stats(w.op, &st);
    if (st.phase == CAPSID__ACL_PHASE_LOCKING)
      break;
    uv_run(&loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  usleep(20000);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_false(w.done);
  assert_false(has_in(&f, "top", "user:61001:rw-"));
  close(fd); /* releases the lock */
  while (!w.done)
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(w.status, 0);
  assert_true(has_in(&f, "top", "user:61001:rw-"));
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  capsid__free(lock);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


/* Two applies of one workspace started together: the lock makes one wait
 * for the other, so exactly one walks everything and the other finds a
 * complete record with nothing to do. Run together, both would walk. */
static void test_two_applies_of_one_workspace(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__pool_t* pool;
  uv_loop_t loop;
  wait_t w1 = {0}, w2 = {0};
  fixture_t f;

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("cd '%s' && for i in $(seq 1 30); do mkdir "
                               "d$i && touch d$i/a d$i/b; done", f.ws), 0);
  simple_plan(f.ws, &plan);
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = f.state;
  opts.threads = 1; /* each op one item: both leaders run at once */
  uv_loop_init(&loop);
  assert_int_equal(capsid__pool_new(&loop, 2, &pool), 0);
  assert_int_equal(capsid__acl_op_start(&loop, pool, CAPSID__ACL_APPLY, &plan,
                                        &opts, on_done, &w1, &w1.op), 0);
  assert_int_equal(capsid__acl_op_start(&loop, pool, CAPSID__ACL_APPLY, &plan,
                                        &opts, on_done, &w2, &w2.op), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_true(w1.done && w2.done);
  assert_int_equal(w1.status, 0);
  assert_int_equal(w2.status, 0);
  assert_int_equal(w1.stats.full + w2.stats.full, 1);
  assert_int_equal(w1.stats.full ? w2.stats.changed : w1.stats.changed, 0);
  assert_int_equal(w1.stats.full ? w1.stats.changed : w2.stats.changed,
                   7 + 30 + 60); /* the fixture, 30 dirs, 60 files */
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  assert_true(has_in(&f, "d30/b", "user:61001:rw-"));
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


static void test_two_workspaces_in_parallel(void** state) {
  capsid__acl_plan_t p1, p2;
  capsid__acl_opts_t opts;
  capsid__pool_t* pool;
  capsid__acl_stats_t st;
  capsid_error_t err = {0};
  uv_loop_t loop;
  wait_t w1 = {0}, w2 = {0};
  fixture_t f;
  char other[1100];

  (void)state;
  fixture_new(&f);
  snprintf(other, sizeof(other), "%s/ws2", f.root);
  assert_int_equal(test_system("cp -a '%s' '%s'", f.ws, other), 0);
  simple_plan(f.ws, &p1);
  simple_plan(other, &p2);
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = f.state;
  uv_loop_init(&loop);
  assert_int_equal(capsid__pool_new(&loop, 2, &pool), 0);
  assert_int_equal(capsid__acl_op_start(&loop, pool, CAPSID__ACL_APPLY, &p1,
                                        &opts, on_done, &w1, NULL), 0);
  assert_int_equal(capsid__acl_op_start(&loop, pool, CAPSID__ACL_APPLY, &p2,
                                        &opts, on_done, &w2, NULL), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_true(w1.done && w2.done);
  assert_int_equal(w1.status, 0);
  assert_int_equal(w2.status, 0);
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  assert_true(has_in(&f, "a/b/two", "user:61001:rwx"));
  /* uninstall: every record under the state dir is taken back. */
  assert_int_equal(capsid__acl_remove_all(f.state, 2, &st, &err), 0);
  assert_int_equal(test_system("getfacl -R -s -p '%s' '%s' | grep -q .",
                               f.ws, other), 1);
  /* Nothing of capsid's is left in the state directory either. */
  assert_int_equal(test_system("test -e '%s/acl'", f.state), 1);
  capsid__acl_plan_free(&p1);
  capsid__acl_plan_free(&p2);
  fixture_free(&f);
}


static void test_cancel_leaves_a_record_that_walks_again(void** state) {
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t st;
  capsid__pool_t* pool;
  uv_loop_t loop;
  wait_t w = {0};
  fixture_t f;

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("cd '%s' && for i in $(seq 1 40); do mkdir "
                               "d$i && touch d$i/f1 d$i/f2; done", f.ws), 0);
  simple_plan(f.ws, &plan);
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = f.state;
  uv_loop_init(&loop);
  assert_int_equal(capsid__pool_new(&loop, 1, &pool), 0);
  assert_int_equal(capsid__acl_op_start(&loop, pool, CAPSID__ACL_APPLY, &plan,
                                        &opts, on_done, &w, &w.op), 0);
  capsid__acl_op_cancel(w.op);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_true(w.done);
  assert_int_equal(w.status, CAPSID_ECANCELED);
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  /* Whatever got done, the next apply walks everything and finishes. */
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &plan, f.state, &st), 0);
  assert_true(st.full);
  assert_int_equal(test_system("cd '%s' && find . | while read p; do "
                               "getfacl -p \"$p\" | grep -q '^user:61001:' "
                               "|| exit 1; done", f.ws), 0);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


typedef struct {
  int calls;
  int saw_done;
  uint64_t last_changed;
} progress_t;


static void on_progress(const capsid__acl_stats_t* s, void* data) {
  progress_t* p = data;

  p->calls++;
  if (s->phase == CAPSID__ACL_PHASE_DONE) {
    p->saw_done = 1;
    p->last_changed = s->changed;
  }
}


/* The read-ACL helper: a plan of its own, under a key (and lock) shared by
 * every workspace, run in the background with progress reports. */
static void test_read_helper_in_background(void** state) {
  capsid__acl_principal_t users;
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t st;
  capsid__pool_t* pool;
  uv_loop_t loop;
  progress_t prog = {0};
  wait_t w = {0};
  fixture_t f;
  char* before;
  const char* roots[3];
  char r2[1100];

  (void)state;
  fixture_new(&f);
  snprintf(r2, sizeof(r2), "%s/sub", f.out);
  roots[0] = f.ws;
  roots[1] = r2;
  roots[2] = NULL;
  before = acl_facls(f.ws);
  memset(&users, 0, sizeof(users));
  users.kind = CAPSID__ACL_GROUP;
  users.id = 61000;
  assert_int_equal(capsid__acl_plan_read(roots, users, &plan), 0);
  assert_string_equal(plan.key, CAPSID__ACL_READ_KEY);
  assert_int_equal(plan.n_targets, 2);
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = f.state;
  opts.progress = on_progress;
  opts.data = &prog;
  uv_loop_init(&loop);
  assert_int_equal(capsid__pool_new(&loop, 2, &pool), 0);
  assert_int_equal(capsid__acl_op_start(&loop, pool, CAPSID__ACL_APPLY, &plan,
                                        &opts, on_done, &w, NULL), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_true(w.done);
  assert_int_equal(w.status, 0);
  assert_true(prog.saw_done);
  assert_int_equal(prog.last_changed, 7 + 2); /* ws tree, out/sub{,/deeper} */
  assert_true(acl_has(f.ws, "group:61000:r-x"));
  assert_true(acl_has(f.ws, "default:group:61000:r-x"));
  assert_true(has_in(&f, "a/one", "group:61000:r--"));
  capsid__pool_close(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  assert_int_equal(run_plan(CAPSID__ACL_REVOKE, &plan, f.state, &st), 0);
  {
    char* after = acl_facls(f.ws);
    assert_string_equal(before, after);
    free(after);
  }
  free(before);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


static void add_traverse(capsid__acl_plan_t* plan, const char* path) {
  capsid__acl_target_t* t;

  plan->targets = capsid__realloc(plan->targets,
                                  (plan->n_targets + 1) * sizeof(*t));
  t = &plan->targets[plan->n_targets++];
  memset(t, 0, sizeof(*t));
  t->kind = CAPSID__ACL_T_TRAVERSE;
  t->path = capsid__strdup(path);
  t->entries = capsid__calloc(1, sizeof(*t->entries));
  t->entries[0].who.kind = CAPSID__ACL_GROUP;
  t->entries[0].who.id = 61000;
  t->entries[0].perms = CAPSID__ACL_X;
  t->entries[0].scope = CAPSID__ACL_ACCESS;
  t->n_entries = 1;
}


/* Two workspaces under one parent that others cannot traverse: the
 * parent's traverse entry serves both, and revoking one must not take it
 * from the other. */
static void test_shared_ancestor_outlives_one_revoke(void** state) {
  capsid__acl_plan_t pa, pb;
  capsid__acl_stats_t st;
  char parent[1100], wa[1200], wb[1200];
  fixture_t f;

  (void)state;
  fixture_new(&f);
  snprintf(parent, sizeof(parent), "%s/shared", f.root);
  snprintf(wa, sizeof(wa), "%s/a", parent);
  snprintf(wb, sizeof(wb), "%s/b", parent);
  assert_int_equal(test_system("mkdir -p '%s' '%s' && chmod 750 '%s'", wa,
                               wb, parent), 0);
  simple_plan(wa, &pa);
  simple_plan(wb, &pb);
  add_traverse(&pa, parent);
  add_traverse(&pb, parent);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &pa, f.state, &st), 0);
  assert_int_equal(run_plan(CAPSID__ACL_APPLY, &pb, f.state, &st), 0);
  assert_true(acl_has(parent, "group:61000:--x"));
  assert_int_equal(run_plan(CAPSID__ACL_REVOKE, &pa, f.state, &st), 0);
  assert_false(acl_extended(wa));
  assert_true(acl_has(parent, "group:61000:--x")); /* b still needs it */
  assert_true(acl_has(wb, "user:61001:rwx"));
  assert_int_equal(run_plan(CAPSID__ACL_REVOKE, &pb, f.state, &st), 0);
  assert_false(acl_extended(parent)); /* the last one takes it back */
  assert_false(acl_extended(wb));
  capsid__acl_plan_free(&pa);
  capsid__acl_plan_free(&pb);
  fixture_free(&f);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_apply_grants_like_setfacl),
      cmocka_unit_test(test_deny_entry_refused),
      cmocka_unit_test(test_merge_keeps_entries_and_revoke_restores),
      cmocka_unit_test(test_mask_widening_keeps_group_out),
      cmocka_unit_test(test_reapply_is_incremental),
      cmocka_unit_test(test_corrupt_record_means_full_walk),
      cmocka_unit_test(test_plan_change_takes_back_old_entries),
      cmocka_unit_test(test_sandbox_plan_protects_git),
      cmocka_unit_test(test_lock_serialises_writers),
      cmocka_unit_test(test_two_applies_of_one_workspace),
      cmocka_unit_test(test_two_workspaces_in_parallel),
      cmocka_unit_test(test_cancel_leaves_a_record_that_walks_again),
      cmocka_unit_test(test_read_helper_in_background),
      cmocka_unit_test(test_shared_ancestor_outlives_one_revoke),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
