/* Attacks on the ACL walker (issue 6): symlinks and hard links to the
 * outside, bind mounts, FIFOs and devices, entries swapped between listing
 * and setting, huge and deep trees, hostile names. After each, nothing
 * outside the workspace may have changed: getfacl -R and the stat of every
 * inode of a sentinel tree are compared before and after. Each attack has
 * a control in the same tree that must have been changed. */
#include "acl-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int has_acl_at(int dfd, const char* name) {
  char path[256];
  char buf[512];

  snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
  return lgetxattr(path, "system.posix_acl_access", buf, sizeof(buf)) > 0;
}


static int has_acl(const char* path) {
  char buf[512];

  return lgetxattr(path, "system.posix_acl_access", buf, sizeof(buf)) > 0;
}


typedef struct {
  int n;
  char what[16][256];
} skips_t;


static void on_skip(const char* root, const char* path, const char* why,
                    void* data) {
  skips_t* s = data;

  (void)root;
  if (s->n < 16)
    snprintf(s->what[s->n++], 256, "%s: %s", path, why);
}


static int skipped(const skips_t* s, const char* prefix) {
  int i;

  for (i = 0; i < s->n; i++)
    if (strncmp(s->what[i], prefix, strlen(prefix)) == 0)
      return 1;
  return 0;
}


/* An apply of the simple plan; reclaim: the hand-back pass's mode, for
 * JOB_UID's inodes. */
#define JOB_UID 3210000042u

static int apply_with(const fixture_t* f, int reclaim,
                      capsid__acl_stats_t* st, skips_t* s) {
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid_error_t err = {0};
  int rc;

  simple_plan(f->ws, &plan);
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = f->state;
  opts.threads = 2;
  opts.skipped = s != NULL ? on_skip : NULL;
  opts.data = s;
  opts.reclaim = reclaim;
  opts.reclaim_uid = JOB_UID;
  rc = capsid__acl_run(CAPSID__ACL_APPLY, &plan, &opts, st, &err);
  capsid__error_free(&err);
  capsid__acl_plan_free(&plan);
  return rc;
}


static int apply(const fixture_t* f, capsid__acl_stats_t* st, skips_t* s) {
  return apply_with(f, CAPSID__ACL_RECLAIM_NONE, st, s);
}


static void test_links_fifos_and_devices(void** state) {
  capsid__acl_stats_t st;
  skips_t s = {0};
  fixture_t f;
  char *before, *after, path[1200];

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("cd '%s' && ln -s '%s' to-out-dir && ln -s "
                               "'%s/file' to-out-file && ln '%s/file' "
                               "hardlink && mkfifo fifo && mknod nullish c 1 "
                               "3 && echo ok > control",
                               f.ws, f.out, f.out, f.out),
                   0);
  before = acl_snapshot(f.out);
  assert_int_equal(apply(&f, &st, &s), 0);
  after = acl_snapshot(f.out);
  assert_string_equal(before, after);
  assert_int_equal(st.skipped_links, 1);
  assert_true(skipped(&s, "hardlink: more than one link"));
  assert_true(skipped(&s, "fifo: not a regular"));
  assert_true(skipped(&s, "nullish: not a regular"));
  assert_int_equal(st.skipped_special, 4); /* 2 symlinks, fifo, device */
  snprintf(path, sizeof(path), "%s/fifo", f.ws);
  assert_false(has_acl(path));
  snprintf(path, sizeof(path), "%s/nullish", f.ws);
  assert_false(has_acl(path));
  snprintf(path, sizeof(path), "%s/control", f.ws);
  assert_true(has_acl(path)); /* the control: same tree, one link */
  free(before);
  free(after);
  fixture_free(&f);
}


static void test_bind_mounts_are_not_entered(void** state) {
  capsid__acl_stats_t st;
  skips_t s = {0};
  fixture_t f;
  char *before, *after, mnt[1200], fmnt[1200], src[1200], ctl[1200];

  (void)state;
  fixture_new(&f);
  snprintf(mnt, sizeof(mnt), "%s/mnt", f.ws);
  snprintf(fmnt, sizeof(fmnt), "%s/bound-file", f.ws);
  snprintf(src, sizeof(src), "%s/file", f.out);
  assert_int_equal(test_system("mkdir '%s' && touch '%s'", mnt, fmnt), 0);
  if (mount(f.out, mnt, "none", MS_BIND, NULL) != 0) {
    int may = test_may_skip("bind mounts need CAP_SYS_ADMIN (%s)",
                            strerror(errno));
    fixture_free(&f);
    if (may)
      skip();
    fail();
  }
  /* The same filesystem: st_dev alone would not tell. */
  assert_int_equal(mount(src, fmnt, "none", MS_BIND, NULL), 0);
  before = acl_snapshot(f.out);
  assert_int_equal(apply(&f, &st, &s), 0);
  after = acl_snapshot(f.out);
  umount2(fmnt, MNT_DETACH);
  umount2(mnt, MNT_DETACH);
  assert_string_equal(before, after);
  assert_int_equal(st.skipped_xdev, 2);
  assert_true(skipped(&s, "mnt: another filesystem or mount"));
  assert_true(skipped(&s, "bound-file: another filesystem or mount"));
  snprintf(ctl, sizeof(ctl), "%s/a/one", f.ws);
  assert_true(has_acl(ctl));
  free(before);
  free(after);
  fixture_free(&f);
}


static void test_hostile_names(void** state) {
  capsid__acl_stats_t st;
  skips_t s = {0};
  fixture_t f;
  int dfd, fd;
  const char* names[] = {"new\nline", "\xff\xfe invalid utf-8", "-rf",
                         " leading space", "*"};
  size_t i;

  (void)state;
  fixture_new(&f);
  dfd = open(f.ws, O_RDONLY | O_DIRECTORY);
  assert_true(dfd >= 0);
  for (i = 0; i < CAPSID__ARRAY_SIZE(names); i++) {
    fd = openat(dfd, names[i], O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
  }
  assert_int_equal(mkdirat(dfd, "dir\nwith\nnewlines", 0755), 0);
  assert_int_equal(apply(&f, &st, &s), 0);
  assert_int_equal(st.errors, 0);
  for (i = 0; i < CAPSID__ARRAY_SIZE(names); i++)
    assert_true(has_acl_at(dfd, names[i]));
  assert_true(has_acl_at(dfd, "dir\nwith\nnewlines"));
  /* The record keeps such names, and the next run trusts it. */
  assert_int_equal(apply(&f, &st, &s), 0);
  assert_false(st.full);
  assert_int_equal(st.changed, 0);
  close(dfd);
  fixture_free(&f);
}


static void test_ten_thousand_deep(void** state) {
  capsid__acl_stats_t st;
  skips_t s = {0};
  fixture_t f;
  int fd, next, i, depth = 10000;

  (void)state;
  fixture_new(&f);
  fd = open(f.ws, O_RDONLY | O_DIRECTORY);
  for (i = 0; i < depth; i++) {
    assert_int_equal(mkdirat(fd, "d", 0755), 0);
    next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
    assert_true(next >= 0);
    close(fd);
    fd = next;
  }
  close(openat(fd, "leaf", O_CREAT | O_WRONLY, 0644));
  close(fd);
  assert_int_equal(apply(&f, &st, &s), 0);
  assert_int_equal(st.errors, 0);
  assert_int_equal(st.dirs, 4 + depth);
  /* Down again by fds: every level and the leaf carry the grant. */
  fd = open(f.ws, O_RDONLY | O_DIRECTORY);
  for (i = 0; i < depth; i++) {
    assert_true(has_acl_at(fd, "d"));
    next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
    close(fd);
    fd = next;
  }
  assert_true(has_acl_at(fd, "leaf"));
  close(fd);
  /* Paths too long to record are listed again, the rest is skipped. */
  assert_int_equal(apply(&f, &st, &s), 0);
  assert_int_equal(st.changed, 0);
  assert_int_equal(st.errors, 0);
  fixture_free(&f);
}


static void test_hundred_thousand_in_one_directory(void** state) {
  capsid__acl_stats_t st;
  skips_t s = {0};
  fixture_t f;
  char name[32];
  int dfd, fd, i, n = 100000;

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("mkdir '%s/wide'", f.ws), 0);
  {
    char p[1200];
    snprintf(p, sizeof(p), "%s/wide", f.ws);
    dfd = open(p, O_RDONLY | O_DIRECTORY);
  }
  assert_true(dfd >= 0);
  for (i = 0; i < n; i++) {
    snprintf(name, sizeof(name), "f%06d", i);
    fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
  }
  assert_int_equal(apply(&f, &st, &s), 0);
  assert_int_equal(st.errors, 0);
  assert_int_equal(st.files, n + 3);
  assert_int_equal(st.changed, n + 3 + 5);
  assert_true(has_acl_at(dfd, "f000000"));
  assert_true(has_acl_at(dfd, "f099999"));
  close(dfd);
  fixture_free(&f);
}


#ifdef CAPSID_FAULT_INJECTION
/* What the hook does, once, when the walker reaches a given name. */
static const fixture_t* hook_f;
static int hook_fired;


static void swap_hook(capsid__acl_dir_t d, const char* name) {
  char target[1200];

  if (strcmp(name, "swapme") == 0 && !hook_fired++) {
    /* The directory the walker just listed becomes a symlink to the
     * outside before it is opened. */
    assert_int_equal(renameat((int)d, "swapme", (int)d, "moved-away"), 0);
    assert_int_equal(symlinkat(hook_f->out, (int)d, "swapme"), 0);
  }
  if (strcmp(name, "victim") == 0) {
    /* A file becomes a hard link to a file outside. (That link changes the
     * target's link count and ctime, so it is not in the sentinel tree;
     * its ACL is checked on its own.) */
    snprintf(target, sizeof(target), "%s/linkable/target", hook_f->root);
    assert_int_equal(unlinkat((int)d, "victim", 0), 0);
    assert_int_equal(linkat(AT_FDCWD, target, (int)d, "victim", 0), 0);
  }
  if (strcmp(name, "vanishing") == 0)
    assert_int_equal(test_system("rm -rf '%s/vanishing'", hook_f->ws), 0);
}


static void test_swaps_between_listing_and_setting(void** state) {
  capsid__acl_stats_t st;
  skips_t s = {0};
  fixture_t f;
  char *before, *after, *lbefore, *lafter, p[1200];

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("cd '%s' && mkdir -p swapme/inner "
                               "vanishing/deep/er && echo v > victim && echo "
                               "c > control && mkdir ../linkable && echo t > "
                               "../linkable/target && chmod 640 "
                               "../linkable/target",
                               f.ws),
                   0);
  snprintf(p, sizeof(p), "%s/linkable", f.root);
  lbefore = acl_facls(p);
  before = acl_snapshot(f.out);
  hook_f = &f;
  hook_fired = 0;
  capsid__acl_test_hook = swap_hook;
  assert_int_equal(apply(&f, &st, &s), 0);
  capsid__acl_test_hook = NULL;
  after = acl_snapshot(f.out);
  assert_string_equal(before, after);
  snprintf(p, sizeof(p), "%s/linkable", f.root);
  lafter = acl_facls(p);
  assert_string_equal(lbefore, lafter);
  snprintf(p, sizeof(p), "%s/linkable/target", f.root);
  assert_false(has_acl(p));
  assert_int_equal(hook_fired, 1);
  assert_true(skipped(&s, "swapme: no longer a directory"));
  assert_true(skipped(&s, "victim: more than one link"));
  assert_int_equal(st.errors, 0); /* a vanished directory is no error */
  snprintf(p, sizeof(p), "%s/control", f.ws);
  assert_true(has_acl(p));
  /* The swapped directory is found again next time, under its new name,
   * since its parent changed. */
  assert_int_equal(apply(&f, &st, &s), 0);
  snprintf(p, sizeof(p), "%s/moved-away/inner", f.ws);
  assert_true(has_acl(p));
  free(before);
  free(after);
  free(lbefore);
  free(lafter);
  fixture_free(&f);
}


/* The hand-back pass (elevated mode's post-job chown): the second time
 * the hook sees a name is between the pass's check and its change. */
static int reclaim_calls[2];


static void reclaim_hook(capsid__acl_dir_t d, const char* name) {
  char target[1200];

  snprintf(target, sizeof(target), "%s/linkable/target", hook_f->root);
  if (strcmp(name, "swap-hard") == 0 && ++reclaim_calls[0] == 2) {
    /* The job's file becomes a hard link to someone else's file. */
    assert_int_equal(unlinkat((int)d, name, 0), 0);
    assert_int_equal(linkat(AT_FDCWD, target, (int)d, name, 0), 0);
  }
  if (strcmp(name, "swap-sym") == 0 && ++reclaim_calls[1] == 2) {
    assert_int_equal(unlinkat((int)d, name, 0), 0);
    assert_int_equal(symlinkat(target, (int)d, name), 0);
  }
}


static void need_root(void) {
  if (geteuid() == 0)
    return;
  if (test_may_skip("the hand-back pass chowns: needs root"))
    skip();
  fail();
}


static int apply_reclaim(const fixture_t* f, int mode,
                         capsid__acl_stats_t* st) {
  return apply_with(f, mode, st, NULL);
}


static int owner_of(const char* dir, const char* name, struct stat* st) {
  char p[1200];

  snprintf(p, sizeof(p), "%s/%s", dir, name);
  assert_int_equal(lstat(p, st), 0);
  return (int)st->st_uid;
}


/* What the job made goes to the workspace's owner: files, a 0700
 * directory and what is in it, a symlink (itself, not its target), a
 * FIFO, a set-id file (bits dropped). A file with two links stays the
 * job's. A name swapped between the check and the chown for a hard link
 * to, or a symlink at, another user's file outside changes nothing
 * there (its stat and ACL compared); the sentinel tree is untouched. */
static void test_hand_back_pass(void** state) {
  capsid__acl_stats_t st;
  struct stat sb, tb_before, tb_after;
  fixture_t f;
  char *before, *after, *lbefore, *lafter, p[1200];

  (void)state;
  need_root();
  fixture_new(&f);
  assert_int_equal(
      test_system("cd '%s' && echo m > mine && chmod 600 mine && "
                  "mkdir -m 700 dmine && echo i > dmine/in && "
                  "ln -s '%s/file' lnk && mkfifo fifo && echo s > setid && "
                  "chmod 6755 setid && echo t > two && ln two two2 && "
                  "echo h > swap-hard && echo y > swap-sym && "
                  "chown -h %u:%u mine dmine dmine/in lnk fifo setid two "
                  "swap-hard swap-sym && chmod 6755 setid && "
                  "mkdir ../linkable && echo t > ../linkable/target && "
                  "chown 65534:65534 ../linkable/target && "
                  "chmod 644 ../linkable/target",
                  f.ws, f.out, JOB_UID, JOB_UID),
      0);
  snprintf(p, sizeof(p), "%s/linkable/target", f.root);
  assert_int_equal(stat(p, &tb_before), 0);
  before = acl_snapshot(f.out);
  snprintf(p, sizeof(p), "%s/linkable", f.root);
  lbefore = acl_facls(p);
  hook_f = &f;
  reclaim_calls[0] = reclaim_calls[1] = 0;
  capsid__acl_test_hook = reclaim_hook;
  assert_int_equal(apply_reclaim(&f, CAPSID__ACL_RECLAIM_HAND_BACK, &st), 0);
  capsid__acl_test_hook = NULL;
  assert_int_equal(reclaim_calls[0], 2);
  assert_int_equal(reclaim_calls[1], 2);

  /* Outside: nothing changed. */
  after = acl_snapshot(f.out);
  assert_string_equal(before, after);
  lafter = acl_facls(p);
  assert_string_equal(lbefore, lafter);
  snprintf(p, sizeof(p), "%s/linkable/target", f.root);
  assert_int_equal(stat(p, &tb_after), 0);
  assert_int_equal(tb_after.st_uid, 65534);
  assert_int_equal(tb_after.st_gid, 65534);
  assert_int_equal(tb_after.st_mode, tb_before.st_mode);
  /* Inside: the job's inodes are the owner's (root here). */
  assert_int_equal(owner_of(f.ws, "mine", &sb), 0);
  assert_int_equal(sb.st_mode & 0707, 0600); /* group bits: the mask */
  assert_int_equal(owner_of(f.ws, "dmine", &sb), 0);
  assert_int_equal(owner_of(f.ws, "dmine/in", &sb), 0);
  assert_int_equal(owner_of(f.ws, "lnk", &sb), 0);
  assert_int_equal(owner_of(f.ws, "fifo", &sb), 0);
  assert_int_equal(owner_of(f.ws, "setid", &sb), 0);
  assert_int_equal(sb.st_mode & 06000, 0);
  assert_int_equal((int)owner_of(f.ws, "two", &sb), (int)JOB_UID);
  snprintf(p, sizeof(p), "%s/file", f.out);
  assert_int_equal(stat(p, &sb), 0);
  assert_int_equal(sb.st_uid, 0); /* lnk's target, as before */
  free(before);
  free(after);
  free(lbefore);
  free(lafter);
  fixture_free(&f);
}


/* Deferred while another job runs: nothing is handed back, and the next
 * (incremental) pass finds what was left through the record alone. */
static void test_hand_back_deferred(void** state) {
  capsid__acl_stats_t st;
  struct stat sb;
  fixture_t f;

  (void)state;
  need_root();
  fixture_new(&f);
  assert_int_equal(apply_reclaim(&f, CAPSID__ACL_RECLAIM_NONE, &st), 0);
  assert_int_equal(test_system("cd '%s' && echo n > a/b/new && "
                               "chown %u a/b/new",
                               f.ws, JOB_UID),
                   0);
  assert_int_equal(apply_reclaim(&f, CAPSID__ACL_RECLAIM_DEFER, &st), 0);
  assert_int_equal((int)owner_of(f.ws, "a/b/new", &sb), (int)JOB_UID);
  assert_int_equal(apply_reclaim(&f, CAPSID__ACL_RECLAIM_HAND_BACK, &st), 0);
  assert_int_equal(owner_of(f.ws, "a/b/new", &sb), 0);
  assert_false(st.full);
  assert_true(st.unchanged_dirs > 0); /* not a walk of everything */
  fixture_free(&f);
}
#endif


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_links_fifos_and_devices),
      cmocka_unit_test(test_bind_mounts_are_not_entered),
      cmocka_unit_test(test_hostile_names),
      cmocka_unit_test(test_ten_thousand_deep),
      cmocka_unit_test(test_hundred_thousand_in_one_directory),
#ifdef CAPSID_FAULT_INJECTION
      cmocka_unit_test(test_swaps_between_listing_and_setting),
      cmocka_unit_test(test_hand_back_pass),
      cmocka_unit_test(test_hand_back_deferred),
#endif
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
