/* The ACL engine on Windows (acl/win): how entries become ACEs, the DACL
 * built for an object, and the parallel, incremental walk with its record.
 *
 * Wine lists, opens and stats honestly and runs the walk, the record and
 * the incremental re-apply; it accepts NtSetSecurityObject but keeps no
 * ACE for a capability SID. So under Wine the read-back (a status walk
 * after an apply) must report the objects as not granted; on Windows it
 * must find every one in place. */
#include "wintest-util.h"

#include "acl.h"
#include "acl-int.h"
#include "win-dacl.h"
#include "win-fs.h"

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>
#include <string.h>

static capsid__acl_entry_t entry(const char* sid, unsigned perms,
                                 unsigned scope) {
  capsid__acl_entry_t e;

  memset(&e, 0, sizeof(e));
  e.who.kind = CAPSID__ACL_GROUP;
  e.who.sid = sid;
  e.perms = perms;
  e.scope = scope;
  return e;
}


static void test_entry_to_ace(void** state) {
  capsid__acl_entry_t e;
  DWORD mask;
  BYTE flags;
  int on_files, deny;

  (void)state;
  e = entry("S-1-5-21-1-2-3-4", CAPSID__ACL_R | CAPSID__ACL_W |
                                    CAPSID__ACL_XCOND,
            CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
  assert_int_equal(capsid__acl_win_want(&e, &mask, &flags, &on_files, &deny), 0);
  assert_int_equal(mask, FILE_GENERIC_READ | FILE_GENERIC_WRITE |
                             FILE_GENERIC_EXECUTE | DELETE);
  /* Never FILE_DELETE_CHILD: it would let a job rename .git away. */
  assert_int_equal(mask & FILE_DELETE_CHILD, 0);
  assert_int_equal(flags, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
  assert_true(on_files);
  /* A default-only entry: inherit-only on directories, nothing on files. */
  e = entry("S-1-5-21-1-2-3-4", CAPSID__ACL_R | CAPSID__ACL_X,
            CAPSID__ACL_DEFAULT);
  assert_int_equal(capsid__acl_win_want(&e, &mask, &flags, &on_files, &deny), 0);
  assert_int_equal(mask, FILE_GENERIC_READ | FILE_GENERIC_EXECUTE);
  assert_int_equal(flags, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE |
                              INHERIT_ONLY_ACE);
  assert_false(on_files);
  assert_false(deny);
  /* A deny entry: every right that changes the object, on both. */
  e = entry("S-1-5-21-1-2-3-4", CAPSID__ACL_W | CAPSID__ACL_DENY,
            CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
  assert_int_equal(capsid__acl_win_want(&e, &mask, &flags, &on_files, &deny),
                   0);
  assert_true(deny);
  assert_int_equal(mask, CAPSID__DENY_WRITE_MASK);
  assert_true(mask & FILE_DELETE_CHILD);
  assert_int_equal(flags, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
  assert_true(on_files);
  /* A deny of R (deny_read): contents, listing, EAs, execution; not
   * the attributes or the security descriptor. */
  e = entry("S-1-5-21-1-2-3-4", CAPSID__ACL_R | CAPSID__ACL_DENY,
            CAPSID__ACL_ACCESS);
  assert_int_equal(capsid__acl_win_want(&e, &mask, &flags, &on_files, &deny),
                   0);
  assert_true(deny);
  assert_int_equal(mask, CAPSID__DENY_READ_MASK);
  assert_int_equal(mask, FILE_READ_DATA | FILE_READ_EA | FILE_EXECUTE);
  assert_false(mask & (FILE_READ_ATTRIBUTES | READ_CONTROL));
  assert_true(on_files);
  /* A deny of nothing (X alone has no deny mask) is no entry. */
  e = entry("S-1-5-21-1-2-3-4", CAPSID__ACL_X | CAPSID__ACL_DENY,
            CAPSID__ACL_ACCESS);
  assert_int_equal(capsid__acl_win_want(&e, &mask, &flags, &on_files, &deny),
                   CAPSID_EINVAL);
  /* A POSIX id has no meaning on NTFS. */
  e = entry(NULL, CAPSID__ACL_R, CAPSID__ACL_ACCESS);
  e.who.id = 1000;
  assert_int_equal(capsid__acl_win_want(&e, &mask, &flags, &on_files, &deny),
                   CAPSID_EINVAL);
}


/* The DACL of one object: capsid's ACE replaces its older one, a removed
 * principal loses its explicit and inherited ACEs, everything else stays,
 * in canonical order. */
static void test_dacl_build(void** state) {
  const char* ws = "S-1-5-21-7-7-7-1000";
  const char* gone = "S-1-5-21-7-7-7-1001";
  const BYTE oici = OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE;
  const DWORD rwx = FILE_GENERIC_READ | FILE_GENERIC_WRITE |
                    FILE_GENERIC_EXECUTE | DELETE;
  capsid__acl_entry_t set, rm;
  capsid__acl_fsplan_t* p;
  BYTE buf[2048];
  ACL* old = (ACL*)buf;
  ACL* neu;

  (void)state;
  assert_true(InitializeAcl(old, sizeof(buf), ACL_REVISION));
  wt_add_ace(old, "S-1-1-0", FILE_GENERIC_READ, 0, 0);
  wt_add_ace(old, ws, FILE_GENERIC_READ, oici, 0); /* an older grant */
  wt_add_ace(old, gone, rwx, oici, 0);
  wt_add_ace(old, "S-1-5-21-9-9-9-9", FILE_WRITE_DATA, 0, 1);
  wt_add_ace(old, gone, rwx, INHERITED_ACE | OBJECT_INHERIT_ACE, 0);
  wt_add_ace(old, "S-1-5-32-545", FILE_GENERIC_READ, INHERITED_ACE | oici, 0);
  set = entry(ws, CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_XCOND,
              CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
  rm = entry(gone, CAPSID__ACL_R, CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
  assert_int_equal(capsid__acl_fsplan_new(&set, 1, &rm, 1, 0, &p), 0);

  assert_int_equal(capsid__acl_win_dacl(p, old, 1, &neu), 0);
  assert_true(IsValidAcl(neu));
  assert_int_equal(neu->AceCount, 4);
  wt_expect_ace(neu, 0, ACCESS_DENIED_ACE_TYPE, 0, FILE_WRITE_DATA,
         "S-1-5-21-9-9-9-9");
  wt_expect_ace(neu, 1, ACCESS_ALLOWED_ACE_TYPE, oici, rwx, ws);
  wt_expect_ace(neu, 2, ACCESS_ALLOWED_ACE_TYPE, 0, FILE_GENERIC_READ, "S-1-1-0");
  wt_expect_ace(neu, 3, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE | oici,
         FILE_GENERIC_READ, "S-1-5-32-545");
  LocalFree(neu);

  /* On a file the same entry is a plain, non-inheritable ACE. */
  assert_int_equal(capsid__acl_win_dacl(p, old, 0, &neu), 0);
  wt_expect_ace(neu, 1, ACCESS_ALLOWED_ACE_TYPE, 0, rwx, ws);
  LocalFree(neu);
  capsid__acl_fsplan_free(p);

  /* A protected path: the deny entry leads the DACL, replaces the SID's
   * older explicit deny and wins over its allows (explicit, from the
   * root's walk, and inherited), which stay; a removed deny goes, the
   * same SID's allow stays. */
  assert_true(InitializeAcl(old, sizeof(buf), ACL_REVISION));
  wt_add_ace(old, ws, FILE_WRITE_DATA, oici, 1); /* an older deny */
  wt_add_ace(old, gone, FILE_WRITE_DATA, oici, 1);
  wt_add_ace(old, "S-1-5-21-9-9-9-9", FILE_WRITE_DATA, 0, 1);
  wt_add_ace(old, ws, rwx, oici, 0);
  wt_add_ace(old, gone, rwx, oici, 0);
  wt_add_ace(old, ws, rwx, INHERITED_ACE | oici, 0);
  set = entry(ws, CAPSID__ACL_W | CAPSID__ACL_DENY,
              CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
  rm = entry(gone, CAPSID__ACL_W | CAPSID__ACL_DENY,
             CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
  assert_int_equal(capsid__acl_fsplan_new(&set, 1, &rm, 1, 0, &p), 0);
  assert_int_equal(capsid__acl_win_dacl(p, old, 1, &neu), 0);
  assert_true(IsValidAcl(neu));
  assert_int_equal(neu->AceCount, 5);
  wt_expect_ace(neu, 0, ACCESS_DENIED_ACE_TYPE, oici, CAPSID__DENY_WRITE_MASK,
                ws);
  wt_expect_ace(neu, 1, ACCESS_DENIED_ACE_TYPE, 0, FILE_WRITE_DATA,
                "S-1-5-21-9-9-9-9");
  wt_expect_ace(neu, 2, ACCESS_ALLOWED_ACE_TYPE, oici, rwx, ws);
  wt_expect_ace(neu, 3, ACCESS_ALLOWED_ACE_TYPE, oici, rwx, gone);
  wt_expect_ace(neu, 4, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE | oici, rwx,
                ws);
  LocalFree(neu);
  capsid__acl_fsplan_free(p);
}


/* Leaves out the ACEs of the SID in data. */
static int drop_sid(const ACE_HEADER* h, void* data) {
  return EqualSid(capsid__ace_sid(h), data);
}


/* The one rebuild both writers use (the engine and the launcher's grants):
 * an allow-callback ACE (a conditional ACE, as Dynamic Access Control
 * writes them) is an allow, so it goes behind every explicit deny, even
 * when the old DACL had it first; a DACL of the DS revision keeps it. */
static void test_dacl_rebuild_order(void** state) {
  const BYTE oici = OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE;
  BYTE buf[1024], cb_buf[128];
  ACL* old = (ACL*)buf;
  ACCESS_ALLOWED_CALLBACK_ACE* cb = (ACCESS_ALLOWED_CALLBACK_ACE*)cb_buf;
  capsid__ace_t add[2];
  PSID cap, gone, everyone;
  ACL* neu;

  (void)state;
  assert_true(ConvertStringSidToSidA("S-1-5-21-1-2-3-1000", &cap));
  assert_true(ConvertStringSidToSidA("S-1-5-21-1-2-3-1001", &gone));
  assert_true(ConvertStringSidToSidA("S-1-1-0", &everyone));
  assert_true(InitializeAcl(old, sizeof(buf), ACL_REVISION_DS));
  memset(cb_buf, 0, sizeof(cb_buf));
  cb->Header.AceType = ACCESS_ALLOWED_CALLBACK_ACE_TYPE;
  cb->Header.AceSize = (WORD)(sizeof(*cb) - sizeof(DWORD) +
                              GetLengthSid(everyone));
  cb->Mask = FILE_GENERIC_READ;
  assert_true(CopySid(GetLengthSid(everyone), (PSID)&cb->SidStart, everyone));
  assert_true(AddAce(old, ACL_REVISION_DS, MAXDWORD, cb, cb->Header.AceSize));
  wt_add_ace(old, "S-1-5-21-9-9-9-9", FILE_WRITE_DATA, 0, 1);
  wt_add_ace(old, "S-1-5-32-545", FILE_GENERIC_READ, INHERITED_ACE | oici, 0);
  wt_add_ace(old, "S-1-5-21-1-2-3-1001", FILE_GENERIC_READ, oici, 0);

  memset(add, 0, sizeof(add));
  add[0].sid = cap;
  add[0].mask = FILE_GENERIC_READ;
  add[0].flags = oici;
  add[1].sid = cap;
  add[1].mask = FILE_WRITE_DATA;
  add[1].flags = oici;
  add[1].deny = 1;
  assert_int_equal(capsid__dacl_rebuild(old, add, 2, drop_sid, gone, &neu), 0);
  assert_true(IsValidAcl(neu));
  assert_int_equal(neu->AclRevision, ACL_REVISION_DS);
  assert_int_equal(neu->AceCount, 5);
  wt_expect_ace(neu, 0, ACCESS_DENIED_ACE_TYPE, oici, FILE_WRITE_DATA,
                "S-1-5-21-1-2-3-1000");
  wt_expect_ace(neu, 1, ACCESS_DENIED_ACE_TYPE, 0, FILE_WRITE_DATA,
                "S-1-5-21-9-9-9-9");
  wt_expect_ace(neu, 2, ACCESS_ALLOWED_ACE_TYPE, oici, FILE_GENERIC_READ,
                "S-1-5-21-1-2-3-1000");
  wt_expect_ace(neu, 3, ACCESS_ALLOWED_CALLBACK_ACE_TYPE, 0,
                FILE_GENERIC_READ, "S-1-1-0");
  wt_expect_ace(neu, 4, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE | oici,
                FILE_GENERIC_READ, "S-1-5-32-545");
  LocalFree(neu);

  /* A SID that is not one is refused, nothing built. */
  add[0].sid = NULL;
  assert_int_equal(capsid__dacl_rebuild(old, add, 1, NULL, NULL, &neu),
                   CAPSID_EINVAL);
  assert_null(neu);
  LocalFree(cap);
  LocalFree(gone);
  LocalFree(everyone);
}


/* What `capsid acl` accepts on Windows for --uid and the other ids: a
 * SID string (put in canonical form) or an account name; anything else,
 * a POSIX id among them, is refused naming the option. */
static void test_principal_parse(void** state) {
  capsid__acl_principal_t p;
  capsid_error_t err = {0};
  char* dir = wt_mkdtemp();

  (void)state;
  assert_int_equal(capsid__acl_principal_parse("s-1-5-21-1-2-3-1000",
                                               CAPSID__ACL_USER, "--uid", &p,
                                               &err), 0);
  assert_int_equal(p.kind, CAPSID__ACL_USER);
  assert_string_equal(p.sid, "S-1-5-21-1-2-3-1000");
  capsid__acl_principal_free(&p);
  assert_null(p.sid);
  /* A well-known account by name. */
  assert_int_equal(capsid__acl_principal_parse("Administrators",
                                               CAPSID__ACL_GROUP,
                                               "--users-gid", &p, &err), 0);
  assert_string_equal(p.sid, "S-1-5-32-544");
  capsid__acl_principal_free(&p);
  /* A POSIX id, SDDL's alias spelling, a malformed SID, an unknown name. */
  assert_int_equal(capsid__acl_principal_parse("61001", CAPSID__ACL_USER,
                                               "--uid", &p, &err),
                   CAPSID_EINVAL);
  assert_string_equal(err.field, "--uid");
  assert_non_null(strstr(err.message, "--uid: \"61001\" is neither a SID"));
  assert_null(p.sid);
  assert_int_equal(capsid__acl_principal_parse("BA", CAPSID__ACL_GROUP,
                                               "--ro-gid", &p, &err),
                   CAPSID_EINVAL);
  assert_string_equal(err.field, "--ro-gid");
  assert_int_equal(capsid__acl_principal_parse("S-1-x", CAPSID__ACL_GROUP,
                                               "--root-gid", &p, &err),
                   CAPSID_EINVAL);
  assert_int_equal(capsid__acl_principal_parse("capsid-no-such-account",
                                               CAPSID__ACL_USER, "--owner",
                                               &p, &err), CAPSID_EINVAL);
  assert_string_equal(err.field, "--owner");
  capsid__error_free(&err);
  /* The default owner: the owner SID of the directory. */
  assert_int_equal(capsid__acl_principal_owner(dir, &p, &err), 0);
  assert_int_equal(p.kind, CAPSID__ACL_USER);
  assert_true(strncmp(p.sid, "S-1-", 4) == 0);
  capsid__acl_principal_free(&p);
  wt_rmtree(dir);
  capsid__free(dir);
}


static void write_file(const char* path) {
  FILE* f = fopen(path, "w");

  assert_non_null(f);
  fputs("x", f);
  fclose(f);
}


static int run_op(capsid__acl_action_t action, const capsid__acl_plan_t* plan,
                  int full, capsid__acl_stats_t* st) {
  capsid__acl_opts_t opts;
  capsid_error_t err = {0};
  int rc;

  memset(&opts, 0, sizeof(opts));
  opts.state_dir = wt_state_dir;
  opts.threads = 2;
  opts.full = full;
  memset(st, 0, sizeof(*st));
  rc = capsid__acl_run(action, plan, &opts, st, &err);
  print_message("acl op %d: rc %d full %d dirs %llu files %llu changed %llu "
                "unchanged_dirs %llu errors %llu\n",
                (int)action, rc, st->full, (unsigned long long)st->dirs,
                (unsigned long long)st->files,
                (unsigned long long)st->changed,
                (unsigned long long)st->unchanged_dirs,
                (unsigned long long)st->errors);
  if (rc != 0)
    print_message("acl op: %s\n", err.message ? err.message : "?");
  capsid__error_free(&err);
  return rc;
}


/* The walk: every directory and file of the tree once, a record that lets
 * the next apply skip what did not change, a status walk that reads the
 * DACLs back, and a revoke that drops the record. */
static void test_walk_incremental(void** state) {
  char* root = wt_mkdtemp();
  char* p;
  capsid__acl_entry_t e;
  capsid__acl_plan_t plan;
  capsid__acl_stats_t st;
  capsid__acl_info_t info;
  capsid_error_t err = {0};
  char sid[64];
  char* canon;
  int os_error = 0;
  static const char* const dirs[] = {"a", "b", "b/c"};
  static const char* const files[] = {"a/f1", "a/f2", "b/c/f3", "g.txt"};
  size_t i;

  (void)state;
  for (i = 0; i < 3; i++) {
    p = capsid__sprintf("%s/%s", root, dirs[i]);
    assert_true(CreateDirectoryA(p, NULL));
    capsid__free(p);
  }
  for (i = 0; i < 4; i++) {
    p = capsid__sprintf("%s/%s", root, files[i]);
    write_file(p);
    capsid__free(p);
  }
  assert_int_equal(capsid__path_canonical(NULL, root, &canon, &os_error), 0);
  assert_int_equal(wt_random_sid(sid), 0);
  e = entry(sid, CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_XCOND,
            CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
  assert_int_equal(capsid__acl_plan_simple(canon, &e, 1, &plan), 0);

  /* First apply: a full walk, every object written. */
  assert_int_equal(run_op(CAPSID__ACL_APPLY, &plan, 0, &st), 0);
  assert_true(st.full);
  assert_int_equal(st.dirs, 4);
  assert_int_equal(st.files, 4);
  assert_int_equal(st.changed, 8);
  assert_int_equal(st.errors, 0);
  p = capsid__sprintf("%s/b/c/f3", root);
  if (wt_enforcing())
    assert_true(wt_has_ace(p, sid, ACCESS_ALLOWED_ACE_TYPE));
  capsid__free(p);

  assert_int_equal(capsid__acl_info(wt_state_dir, plan.key, &info, &err), 0);
  assert_true(info.present && info.complete);
  assert_int_equal(info.n_dirs, 4);
  capsid__acl_info_free(&info);
  /* Nothing changed: the record skips every directory, nothing is
   * written. */
  assert_int_equal(run_op(CAPSID__ACL_APPLY, &plan, 0, &st), 0);
  assert_false(st.full);
  assert_int_equal(st.unchanged_dirs, 4);
  assert_int_equal(st.changed, 0);

  /* A new file in b: only b is walked again, and the file granted. */
  p = capsid__sprintf("%s/b/new.txt", root);
  write_file(p);
  capsid__free(p);
  assert_int_equal(run_op(CAPSID__ACL_APPLY, &plan, 0, &st), 0);
  assert_false(st.full);
  assert_int_equal(st.unchanged_dirs, 3);
  assert_true(st.changed >= 1);

  /* Read back every DACL (a full dry run). Windows keeps the ACEs; Wine
   * drops them, and the engine says so instead of reporting them set. */
  assert_int_equal(run_op(CAPSID__ACL_STATUS, &plan, 1, &st), 0);
  if (wt_enforcing())
    assert_int_equal(st.changed, 0);
  else
    assert_int_equal(st.changed, 9);

  /* Revoke: entries gone (on Windows) and the record with them. */
  assert_int_equal(run_op(CAPSID__ACL_REVOKE, &plan, 0, &st), 0);
  p = capsid__sprintf("%s/a/f1", root);
  assert_false(wt_has_ace(p, sid, ACCESS_ALLOWED_ACE_TYPE));
  capsid__free(p);
  assert_int_equal(capsid__acl_info(wt_state_dir, plan.key, &info, &err), 0);
  assert_false(info.present);
  capsid__acl_info_free(&info);
  capsid__acl_plan_free(&plan);
  capsid__free(canon);
  wt_rmtree(root);
  capsid__free(root);
}


/* The walker refuses what it must not follow: a file is not a directory
 * to open, and ".." never leaves the root. */
static void test_open_refusals(void** state) {
  char* root = wt_mkdtemp();
  char* f = capsid__sprintf("%s/plain.txt", root);
  capsid__acl_dir_t d, sub;
  capsid__acl_stat_t st;
  char* canon;
  int os_error = 0;

  (void)state;
  write_file(f);
  assert_int_equal(capsid__path_canonical(NULL, root, &canon, &os_error), 0);
  assert_int_equal(capsid__acl_fs_open_root(canon, &d, &st, &os_error), 0);
  assert_int_equal(st.type, CAPSID__ACL_FT_DIR);
  assert_int_equal(capsid__acl_fs_open_child(d, "plain.txt", &sub, NULL,
                                             &os_error),
                   CAPSID_ENOTDIR);
  assert_int_equal(capsid__acl_fs_open_rel(d, "..", &sub, NULL, &os_error),
                   CAPSID_EXDEV);
  assert_int_equal(capsid__acl_fs_stat_rel(d, "plain.txt", &st, &os_error),
                   0);
  assert_int_equal(st.type, CAPSID__ACL_FT_REG);
  assert_int_equal(st.nlink, 1);
  capsid__acl_fs_close(d);
  capsid__free(canon);
  capsid__free(f);
  wt_rmtree(root);
  capsid__free(root);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_entry_to_ace),
      cmocka_unit_test(test_dacl_build),
      cmocka_unit_test(test_dacl_rebuild_order),
      cmocka_unit_test(test_principal_parse),
      cmocka_unit_test(test_walk_incremental),
      cmocka_unit_test(test_open_refusals),
  };

  capsid_init(CAPSID_INIT_UV_ALLOCATOR);
  return cmocka_run_group_tests(tests, wt_state_setup, wt_state_teardown);
}
