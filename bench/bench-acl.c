/* capsid bench acl: the ACL engine against `setfacl -R` on identical
 * synthetic trees, in one run: setfacl (the baseline), capsid's first
 * apply, a re-apply of the unchanged tree, a re-apply after 1% of the
 * directories gained a file, and a bare walk as the floor. capsid's result
 * is checked against setfacl's with getfacl on a sample of paths. */
#include "bench.h"

#include "acl.h"
#include "args.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char help[] =
"Usage: capsid bench acl [--files N] [--dirs N] [--threads N] [--csv FILE]\n"
"                        [--quick] [--keep]\n"
"\n"
"Builds two identical trees of N files (default 100,000) in M directories\n"
"(default 10,000; 1,000,000 files on request) under $TMPDIR, then times:\n"
"  setfacl -R -m u:ID:rwX,d:u:ID:rwX   on tree A (the baseline)\n"
"  capsid first apply                  on tree B, the same entries\n"
"  capsid re-apply, tree unchanged\n"
"  capsid re-apply after 1% of the directories gained a file\n"
"  a bare walk (lstat of every entry, one thread) as the floor\n"
"and prints entries/s and each speed-up over setfacl (and over capsid's\n"
"own first apply for the re-applies). The first applies run in three\n"
"interleaved rounds (both trees cleared between rounds, untimed), the\n"
"unchanged re-apply five times, the 1% re-apply three times (a new file\n"
"each time); medians are reported. It then compares getfacl output of\n"
"A and B on a sample of paths and fails if they differ. Needs setfacl\n"
"(Debian package acl) and a filesystem with POSIX ACLs.\n"
"\n"
"Options:\n"
"  --files N     files in the tree\n"
"  --dirs N      directories in the tree\n"
"  --threads N   capsid walker threads (default: CPUs)\n"
"  --csv FILE    append the rows to FILE\n"
"  --quick       2,000 files in 200 directories: proves it works (CI)\n"
"  --keep        leave the trees in place and print where\n";

enum { OPT_FILES = 1, OPT_DIRS, OPT_THREADS, OPT_CSV, OPT_QUICK, OPT_KEEP,
       OPT_HELP };

static const capsid__option_t options[] = {
    {0, "files", 1, OPT_FILES}, {0, "dirs", 1, OPT_DIRS},
    {'j', "threads", 1, OPT_THREADS}, {0, "csv", 1, OPT_CSV},
    {0, "quick", 0, OPT_QUICK}, {0, "keep", 0, OPT_KEEP},
    {'h', "help", 0, OPT_HELP}, {0, NULL, 0, 0}};

#define BENCH_UID 61999


/* dirs directories in a two-level layout (about sqrt(dirs) top-level
 * directories), files spread evenly over all of them (bench.h). */
int bench_make_tree(const char* root, long files, long dirs) {
  long top = 1, i, j, made = 0, per, fi = 0, extra;
  char path[8192];
  int fd;

  while (top * top < dirs)
    top++;
  if (mkdir(root, 0755) != 0)
    return -1;
  per = files / dirs;
  extra = files % dirs;
  for (i = 0; i < top && made < dirs; i++) {
    snprintf(path, sizeof(path), "%s/d%04ld", root, i);
    if (mkdir(path, 0755) != 0)
      return -1;
    made++;
    for (j = 0; j < top - 1 && made < dirs; j++, made++) {
      snprintf(path, sizeof(path), "%s/d%04ld/s%04ld", root, i, j);
      if (mkdir(path, 0755) != 0)
        return -1;
    }
  }
  /* Files: walk the same layout again. */
  made = 0;
  for (i = 0; i < top && made < dirs; i++) {
    for (j = -1; j < top - 1 && made < dirs; j++, made++) {
      long k, n = per + (made < extra ? 1 : 0);
      for (k = 0; k < n; k++, fi++) {
        if (j < 0)
          snprintf(path, sizeof(path), "%s/d%04ld/f%07ld", root, i, fi);
        else
          snprintf(path, sizeof(path), "%s/d%04ld/s%04ld/f%07ld", root, i, j,
                   fi);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  fi % 10 == 0 ? 0755 : 0644);
        if (fd < 0)
          return -1;
        close(fd);
      }
    }
  }
  return 0;
}


/* Adds one file to every 100th directory: 1% of the tree changed (a new
 * name each round). */
static long touch_one_percent(const char* root, long dirs, int round) {
  long top = 1, i, j, made = 0, touched = 0;
  char path[8192];
  int fd;

  while (top * top < dirs)
    top++;
  for (i = 0; i < top && made < dirs; i++)
    for (j = -1; j < top - 1 && made < dirs; j++, made++) {
      if (made % 100 != 0)
        continue;
      if (j < 0)
        snprintf(path, sizeof(path), "%s/d%04ld/new%d", root, i, round);
      else
        snprintf(path, sizeof(path), "%s/d%04ld/s%04ld/new%d", root, i, j,
                 round);
      fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) {
        close(fd);
        touched++;
      }
    }
  return touched;
}


/* The floor: open every directory, list it, lstat every entry. */
static long bare_walk(int dfd) {
  struct dirent* e;
  struct stat st;
  long n = 0;
  DIR* d = fdopendir(dfd);
  int sub;

  if (d == NULL) {
    close(dfd);
    return 0;
  }
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    n++;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode)) {
      sub = openat(dirfd(d), e->d_name,
                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0)
        n += bare_walk(sub);
    }
  }
  closedir(d);
  return n;
}


static double run_capsid(capsid__acl_action_t action,
                         const capsid__acl_plan_t* plan,
                         const capsid__acl_opts_t* opts,
                         capsid__acl_stats_t* st, int* failed) {
  capsid_error_t err = {0};
  char msg[1024];
  double t0 = bench_now();
  int rc;

  rc = capsid__acl_run(action, plan, opts, st, &err);
  t0 = bench_now() - t0;
  if (rc != 0) {
    bench_note("capsid %s failed: %s",
               action == CAPSID__ACL_APPLY ? "apply" : "revoke",
               capsid_error_format(&err, msg, sizeof(msg)));
    *failed = 1;
  }
  capsid__error_free(&err);
  return t0;
}


/* getfacl of the same relative paths in both trees must match. */
static int compare_sample(const char* a, const char* b, long files,
                          long dirs) {
  char cmd[8192], *out_a = NULL, *out_b = NULL;
  capsid__buf_t list = {0};
  long top = 1, i, j, made = 0, fi = 0, per, extra, k, n, step;
  char path[256];
  int same = 0;
  size_t la = 0, lb = 0;
  FILE* f;

  while (top * top < dirs)
    top++;
  per = files / dirs;
  extra = files % dirs;
  step = files / 400 + 1;
  capsid__buf_append(&list, ". ", 2);
  for (i = 0; i < top && made < dirs; i++)
    for (j = -1; j < top - 1 && made < dirs; j++, made++) {
      n = per + (made < extra ? 1 : 0);
      if (j < 0)
        snprintf(path, sizeof(path), "d%04ld", i);
      else
        snprintf(path, sizeof(path), "d%04ld/s%04ld", i, j);
      if (made % 37 == 0) {
        capsid__buf_append(&list, path, strlen(path));
        capsid__buf_append(&list, " ", 1);
      }
      for (k = 0; k < n; k++, fi++)
        if (fi % step == 0) {
          char p2[300];
          int m = snprintf(p2, sizeof(p2), "%s/f%07ld ", path, fi);
          capsid__buf_append(&list, p2, (size_t)m);
        }
    }
  capsid__buf_append(&list, "", 1);
  for (i = 0; i < 2; i++) {
    capsid__buf_t out = {0};
    char buf[65536];
    size_t r;
    snprintf(cmd, sizeof(cmd), "cd '%s' && getfacl -n %s 2>&1",
             i == 0 ? a : b, list.data);
    f = popen(cmd, "r");
    if (f == NULL)
      break;
    while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
      capsid__buf_append(&out, buf, r);
    pclose(f);
    if (i == 0)
      out_a = out.data, la = out.len;
    else
      out_b = out.data, lb = out.len;
  }
  same = out_a != NULL && out_b != NULL && la == lb && la > 0 &&
         memcmp(out_a, out_b, la) == 0;
  capsid__free(out_a);
  capsid__free(out_b);
  capsid__buf_free(&list);
  return same;
}


int bench_acl_main(int argc, char** argv) {
  const char* tmp = getenv("TMPDIR");
  bench_opts_t o;
  capsid__acl_plan_t plan;
  capsid__acl_entry_t e[2];
  capsid__acl_opts_t opts;
  capsid__acl_stats_t st;
  char base[4096], a_dir[4200], b_dir[4200], state[4200], spec[128];
  char* setfacl_argv[6];
  char* clear_argv[] = {"setfacl", "-R", "-b", a_dir, NULL};
  double s_setfacl[5], s_first[5], s_again[5], s_pct[3];
  bench_stats_t bs;
  int r, rounds;
  long files = 0, dirs = 0, entries, touched;
  double t_setfacl, t_first, t_again, t_pct, t_bare;
  unsigned threads = 0;
  int opt, keep = 0, failed = 0, fd, same;
  capsid__args_t a;
  uint64_t v;

  memset(&o, 0, sizeof(o));
  capsid__args_init(&a, "capsid bench acl", argc, argv);
  while ((opt = capsid__args_next(&a, options)) > 0) {
    switch (opt) {
    case OPT_FILES:
    case OPT_DIRS:
    case OPT_THREADS:
      if (capsid_parse_size(a.value, &v) != 0 || v == 0 || v > 100000000) {
        fprintf(stderr, "capsid bench acl: \"%s\" is not a positive count\n",
                a.value);
        return 2;
      }
      if (opt == OPT_FILES)
        files = (long)v;
      else if (opt == OPT_DIRS)
        dirs = (long)v;
      else
        threads = (unsigned)v;
      break;
    case OPT_CSV: o.csv = a.value; break;
    case OPT_QUICK: o.quick = 1; break;
    case OPT_KEEP: keep = 1; break;
    case OPT_HELP: fputs(help, stdout); return 0;
    }
  }
  if (opt < 0)
    return 2;
  if (a.index < argc) {
    fprintf(stderr, "capsid bench acl: unexpected argument \"%s\"\n",
            argv[a.index]);
    return 2;
  }
  if (files == 0)
    files = o.quick ? 2000 : 100000;
  rounds = o.quick ? 1 : 3;
  if (dirs == 0)
    dirs = files / 10 > 0 ? files / 10 : 1;
  if (bench_spawn_wait((char* const[]){"setfacl", "--version", NULL}, 0) !=
      0) {
    fprintf(stderr, "capsid bench acl: setfacl is missing (install the "
            "Debian package acl)\n");
    return 1;
  }
  snprintf(base, sizeof(base), "%s/capsid-bench-acl-XXXXXX",
           tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
  if (mkdtemp(base) == NULL) {
    perror("capsid bench acl: mkdtemp");
    return 1;
  }
  snprintf(a_dir, sizeof(a_dir), "%s/a", base);
  snprintf(b_dir, sizeof(b_dir), "%s/b", base);
  snprintf(state, sizeof(state), "%s/state", base);
  printf("capsid bench acl: building two trees of %ld files in %ld "
         "directories under %s\n", files, dirs, base);
  fflush(stdout);
  if (bench_make_tree(a_dir, files, dirs) != 0 ||
      bench_make_tree(b_dir, files, dirs) != 0) {
    fprintf(stderr, "capsid bench acl: cannot build the trees: %s\n",
            strerror(errno));
    failed = 1;
    goto out;
  }
  entries = files + dirs + 1;
  /* Warm both trees alike: the floor walk reads every inode of each. */
  fd = open(a_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bare_walk(fd);
  fd = open(b_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  t_bare = bench_now();
  bare_walk(fd);
  t_bare = bench_now() - t_bare;

  snprintf(spec, sizeof(spec), "u:%d:rwX,d:u:%d:rwX", BENCH_UID, BENCH_UID);
  setfacl_argv[0] = "setfacl";
  setfacl_argv[1] = "-R";
  setfacl_argv[2] = "-m";
  setfacl_argv[3] = spec;
  setfacl_argv[4] = a_dir;
  setfacl_argv[5] = NULL;
  memset(e, 0, sizeof(e));
  e[0].who.kind = e[1].who.kind = CAPSID__ACL_USER;
  e[0].who.id = e[1].who.id = BENCH_UID;
  e[0].perms = CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_XCOND;
  e[0].scope = CAPSID__ACL_ACCESS;
  e[1].perms = CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_X;
  e[1].scope = CAPSID__ACL_DEFAULT;
  if (capsid__acl_plan_simple(b_dir, e, 2, &plan) != 0) {
    failed = 1;
    goto out;
  }
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = state;
  opts.threads = threads;

  /* First applies, interleaved rounds on a shared machine: setfacl on A,
   * capsid on B; between rounds both trees go back to no ACL at all
   * (setfacl -b, capsid revoke), untimed. Medians are reported. */
  for (r = 0; r < rounds; r++) {
    s_setfacl[r] = bench_now();
    if (bench_spawn_wait(setfacl_argv, 0) != 0) {
      fprintf(stderr, "capsid bench acl: setfacl -R failed (does %s "
              "support POSIX ACLs?)\n", base);
      failed = 1;
      capsid__acl_plan_free(&plan);
      goto out;
    }
    s_setfacl[r] = bench_now() - s_setfacl[r];
    s_first[r] = run_capsid(CAPSID__ACL_APPLY, &plan, &opts, &st, &failed);
    if (!st.full)
      failed = 1;
    if (r + 1 < rounds) {
      bench_spawn_wait(clear_argv, 0);
      run_capsid(CAPSID__ACL_REVOKE, &plan, &opts, &st, &failed);
    }
  }
  same = compare_sample(a_dir, b_dir, files, dirs);
  for (r = 0; r < 5; r++) {
    s_again[r] = run_capsid(CAPSID__ACL_APPLY, &plan, &opts, &st, &failed);
    if (st.full || st.changed != 0) {
      bench_note("the unchanged re-apply changed %llu inodes (full=%d)",
                 (unsigned long long)st.changed, st.full);
      failed = 1;
    }
  }
  for (r = 0; r < 3; r++) {
    touched = touch_one_percent(b_dir, dirs, r);
    s_pct[r] = run_capsid(CAPSID__ACL_APPLY, &plan, &opts, &st, &failed);
    if ((long)st.changed < touched) {
      bench_note("after touching %ld directories only %llu inodes changed",
                 touched, (unsigned long long)st.changed);
      failed = 1;
    }
  }
  bench_stats(s_setfacl, (size_t)rounds, &bs);
  t_setfacl = bs.median;
  bench_stats(s_first, (size_t)rounds, &bs);
  t_first = bs.median;
  bench_stats(s_again, 5, &bs);
  t_again = bs.median;
  bench_stats(s_pct, 3, &bs);
  t_pct = bs.median;
  capsid__acl_plan_free(&plan);

  bench_header("acl", "POSIX ACL application, entries/s (ratio: speed-up "
               "over setfacl -R)");
  bench_row(&o, "acl", "setfacl -R -m u:ID:rwX d:u:ID:rwX (baseline)",
            (double)entries / t_setfacl, "entries/s", 1.0);
  bench_row(&o, "acl", "capsid first apply", (double)entries / t_first,
            "entries/s", t_setfacl / t_first);
  bench_row(&o, "acl", "capsid re-apply unchanged", (double)entries / t_again,
            "entries/s", t_setfacl / t_again);
  /* Row names carry no comma: they are a CSV field. */
  bench_row(&o, "acl", "capsid re-apply after 1% of dirs changed",
            (double)entries / t_pct, "entries/s", t_setfacl / t_pct);
  bench_row(&o, "acl", "bare walk lstat only (floor)",
            (double)entries / t_bare, "entries/s", t_setfacl / t_bare);
  bench_row(&o, "acl", "unchanged re-apply vs first apply", t_first / t_again,
            "x", 0);
  bench_row(&o, "acl", "1% re-apply vs first apply", t_first / t_pct, "x",
            0);
  bench_note("%ld entries; setfacl %.3f s, first %.3f s, unchanged %.4f s, "
             "1%% (%ld dirs) %.4f s, floor %.3f s", entries, t_setfacl,
             t_first, t_again, touched, t_pct, t_bare);
  if (same)
    bench_note("getfacl of a sample of paths is identical in both trees");
  else {
    bench_note("getfacl differs between the setfacl tree and capsid's");
    failed = 1;
  }

out:
  if (keep) {
    printf("  trees kept in %s\n", base);
  } else {
    char* rm[] = {"rm", "-rf", base, NULL};
    bench_spawn_wait(rm, 0);
  }
  return failed ? 1 : 0;
}
