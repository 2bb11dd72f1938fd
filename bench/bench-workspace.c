/* capsid bench workspace: what a command costs in a large workspace, in
 * one run beside its baselines: posix_spawn, bwrap --unshare-all per
 * process, and setfacl -R for the first apply. Elevated mode (root after
 * `capsid setup`). Every round ends with the record checked against the
 * tree: the bench fails on any drift. */
#include "bench.h"

#include "args.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
"Usage: capsid bench workspace [--files N]... [-n ROUNDS] [-j J] [--csv FILE]\n"
"                              [--quick] [--keep]\n"
"\n"
"Builds workspaces under $TMPDIR: a tiny one (100 files in 100\n"
"directories) and one per --files N (default 100,000 and 1,000,000; N/100\n"
"directories), and times, all in the same run:\n"
"  the first elevated job of each (capsid run) beside setfacl -R of a copy\n"
"  capsid run -- /bin/true, a process per command, elevated and\n"
"    unprivileged, beside posix_spawn and bwrap --unshare-all per process\n"
"  capsid run of a job that creates 100 files in 100 directories\n"
"  /bin/true through one runtime: capsid batch -j 1 and -j J (default 8)\n"
"in ROUNDS interleaved rounds (default 20); medians per command, and each\n"
"workspace against the tiny one. After the rounds, `capsid acl status`\n"
"must find no drift and a full dry run nothing to change in any\n"
"workspace, after a last round of other changes by the owner (a\n"
"directory moved in, a hard link, a removal) and by a job (the same and\n"
"a chmod). Needs root, `capsid setup`, setfacl; bwrap if\n"
"installed.\n"
"\n"
"Options:\n"
"  --files N     a workspace of N files (repeatable, up to 3)\n"
"  -n ROUNDS     interleaved rounds\n"
"  -j J          the parallel batch's jobs\n"
"  --csv FILE    append the rows to FILE\n"
"  --quick       one workspace of 2,000 files, 3 rounds (CI)\n"
"  --keep        leave the workspaces in place and print where\n";

enum { OPT_FILES = 1, OPT_ROUNDS, OPT_JOBS, OPT_CSV, OPT_QUICK, OPT_KEEP,
       OPT_HELP };

static const capsid__option_t options[] = {
    {0, "files", 1, OPT_FILES}, {'n', "rounds", 1, OPT_ROUNDS},
    {'j', "jobs", 1, OPT_JOBS}, {0, "csv", 1, OPT_CSV},
    {0, "quick", 0, OPT_QUICK}, {0, "keep", 0, OPT_KEEP},
    {'h', "help", 0, OPT_HELP}, {0, NULL, 0, 0}};

#define MAX_WS 4
#define MAX_ROUNDS 1000
#define BATCH_JOBS 40

typedef struct ws_s {
  char dir[1100];
  char batch[1200];
  long files, dirs;
  double* run_el;
  double* run_un;
  double* made;
  double b1, bj; /* per job, best round */
} ws_t;


static double timed(char* const* argv) {
  double t = bench_now();

  if (bench_spawn_wait(argv, 0) != 0)
    return -1;
  return bench_now() - t;
}


static double capsid_run(const char* dir, const char* mode,
                         const char* script) {
  char* argv[] = {(char*)bench_self(), "run", "--mode", (char*)mode, "-C",
                  (char*)dir, "--", "/bin/true", NULL, NULL, NULL};

  if (script != NULL) {
    argv[7] = "/bin/sh";
    argv[8] = "-c";
    argv[9] = (char*)script;
  }
  return timed(argv);
}


/* A shell script creating one file in each of 100 directories spread over
 * the tree (the layout of bench_make_tree), named after the round. */
static void made_script(const ws_t* w, int round, char* out, size_t size) {
  long top = 1, k, m, n = 0;
  int len;

  while (top * top < w->dirs)
    top++;
  len = snprintf(out, size, "for d in");
  for (k = 0; k < 100 && k < w->dirs; k++) {
    m = k * w->dirs / 100;
    if (m % top == 0)
      len += snprintf(out + len, size - (size_t)len, " d%04ld", m / top);
    else
      len += snprintf(out + len, size - (size_t)len, " d%04ld/s%04ld",
                      m / top, m % top - 1);
    n++;
  }
  snprintf(out + len, size - (size_t)len,
           "; do : > \"$d/bench-made-%d\"; done", round);
  (void)n;
}


static int write_batch(ws_t* w) {
  FILE* f;
  int i;

  if (snprintf(w->batch, sizeof(w->batch), "%s.jsonl", w->dir) >=
      (int)sizeof(w->batch))
    return -1;
  f = fopen(w->batch, "w");
  if (f == NULL)
    return -1;
  for (i = 0; i < BATCH_JOBS; i++)
    fprintf(f, "{\"id\":%d,\"argv\":[\"/bin/true\"],\"cwd\":\"%s\","
            "\"mode\":\"elevated\"}\n", i, w->dir);
  return fclose(f);
}


static double batch(const ws_t* w, int jobs) {
  char j[16];
  char* argv[] = {(char*)bench_self(), "batch", "-j", j,
                  (char*)w->batch, NULL};

  snprintf(j, sizeof(j), "%d", jobs);
  return timed(argv);
}


/* The workspace identity and its groups, as a job sees them. */
static int identity(const char* dir, char* uid, char* users, char* ro) {
  char cmd[4096], line[256];
  unsigned long u, g, low = 0;
  char* p;
  FILE* f;

  if (snprintf(cmd, sizeof(cmd), "'%s' run --mode elevated -C '%s' -- "
               "/bin/sh -c 'id -u; id -G' 2>/dev/null", bench_self(), dir) >=
      (int)sizeof(cmd))
    return -1;
  f = popen(cmd, "r");
  if (f == NULL)
    return -1;
  if (fgets(line, sizeof(line), f) == NULL) {
    pclose(f);
    return -1;
  }
  u = strtoul(line, NULL, 10);
  if (fgets(line, sizeof(line), f) == NULL) {
    pclose(f);
    return -1;
  }
  pclose(f);
  /* The sandbox users' group is the store's first id, the read-only one
   * two after it (sandbox/capstore.h); the job holds both. */
  for (p = line; *p != '\0' && *p != '\n';) {
    g = strtoul(p, &p, 10);
    if (low == 0 || g < low)
      low = g;
    while (*p == ' ')
      p++;
  }
  snprintf(uid, 32, "%lu", u);
  snprintf(users, 32, "%lu", low);
  snprintf(ro, 32, "%lu", low + 2);
  return u == 0 || low == 0 ? -1 : 0;
}


/* `capsid acl status`, from the record and then in full: no recorded
 * directory changed since the last apply, no inode would change. */
static int exact(const ws_t* w) {
  char uid[32], users[32], ro[32], cmd[4096], line[512], last[512];
  const char* full[] = {"", " --full"};
  unsigned long drift, would;
  FILE* f;
  int i;

  if (identity(w->dir, uid, users, ro) != 0)
    return -1;
  for (i = 0; i < 2; i++) {
    if (snprintf(cmd, sizeof(cmd), "'%s' acl status -C '%s' --uid %s "
                 "--users-gid %s --ro-gid %s%s 2>&1", bench_self(), w->dir, uid,
                 users, ro, full[i]) >= (int)sizeof(cmd))
      return -1;
    f = popen(cmd, "r");
    if (f == NULL)
      return -1;
    last[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL)
      memcpy(last, line, sizeof(line));
    pclose(f);
    if (sscanf(last, "drift: %lu of %*u recorded directories changed since "
               "the last apply; %lu inodes would change", &drift, &would) !=
            2 ||
        drift != 0 || would != 0) {
      bench_note("%s: acl status%s: %s", w->dir, full[i],
                 last[0] ? last : "no answer");
      return -1;
    }
  }
  return 0;
}


/* Every other kind of change, by the owner between commands (a
 * directory moved in from outside, a hard link, a removal) and by a job
 * (the same within, and a chmod). The record must follow each exactly.
 * Not the owner's chmod of a file between two processes: no directory
 * changes, nothing watches then (docs/acl.md). */
static int mixed_round(const char* base, const ws_t* w, int i) {
  char cmd[4096];
  double t;

  if (snprintf(cmd, sizeof(cmd),
               "mkdir -p '%s/outside%d/deep' && echo o > "
               "'%s/outside%d/deep/o' && mv '%s/outside%d' "
               "'%s/d0000/moved-in' && ln '%s/d0001/s0000/'* "
               "'%s/d0007/owner-link' 2>/dev/null; rm -r '%s/d0002/s0000'",
               base, i, base, i, base, i, w->dir, w->dir, w->dir,
               w->dir) >= (int)sizeof(cmd))
    return -1;
  if (system(cmd) != 0)
    return -1;
  t = capsid_run(w->dir, "elevated",
                 "mkdir -p d0003/jobdir/x && echo j > d0003/jobdir/x/f && "
                 "mv d0003/jobdir d0004/jobdir-moved && echo s > d0004/own "
                 "&& chmod 600 d0004/own && ln d0004/own d0005/own-link && "
                 "rm -r d0006/s0000");
  return t < 0 ? -1 : 0;
}


/* setfacl -R on a copy against capsid's first elevated job. */
static int first_apply(const bench_opts_t* o, const char* base, ws_t* w) {
  char ref[1100], name[128], spec[] = "u:61998:rwX,d:u:61998:rwX";
  char* setfacl[] = {"setfacl", "-R", "-m", spec, ref, NULL};
  char* rm[] = {"rm", "-rf", ref, NULL};
  double ts, tc;

  snprintf(ref, sizeof(ref), "%s/ref", base);
  if (bench_make_tree(ref, w->files, w->dirs) != 0)
    return -1;
  ts = timed(setfacl);
  tc = capsid_run(w->dir, "elevated", NULL);
  bench_spawn_wait(rm, 0);
  if (ts < 0 || tc < 0)
    return -1;
  snprintf(name, sizeof(name), "%ld files: setfacl -R (baseline)", w->files);
  bench_row(o, "workspace", name, ts * 1e3, "ms", 1.0);
  snprintf(name, sizeof(name), "%ld files: first capsid run (speed-up)",
           w->files);
  bench_row(o, "workspace", name, tc * 1e3, "ms", ts / tc);
  return 0;
}


static double median(double* v, int n) {
  bench_stats_t s;

  bench_stats(v, (size_t)n, &s);
  return s.median;
}


static void rows(const bench_opts_t* o, ws_t* ws, int n_ws, int rounds,
                 double spawn, double bwrap, int jobs) {
  char name[160];
  double tiny_el = median(ws[0].run_el, rounds);
  double tiny_un = median(ws[0].run_un, rounds);
  double tiny_made = median(ws[0].made, rounds);
  double v;
  int i;

  bench_row(o, "workspace", "posix_spawn /bin/true (baseline)", spawn * 1e3,
            "ms", 1.0);
  if (bwrap > 0)
    bench_row(o, "workspace", "bwrap --unshare-all per process", bwrap * 1e3,
              "ms", bwrap / spawn);
  for (i = 0; i < n_ws; i++) {
    const char* label = i == 0 ? "tiny" : NULL;
    char size[32];
    if (label == NULL) {
      snprintf(size, sizeof(size), "%ld files", ws[i].files);
      label = size;
    }
    v = median(ws[i].run_el, rounds);
    snprintf(name, sizeof(name), "%s: capsid run elevated (vs bwrap)", label);
    bench_row(o, "workspace", name, v * 1e3, "ms", bwrap > 0 ? v / bwrap : 0);
    if (i > 0) {
      snprintf(name, sizeof(name), "%s: elevated, more than tiny", label);
      bench_row(o, "workspace", name, (v - tiny_el) * 1e3, "ms", 0);
    }
    v = median(ws[i].run_un, rounds);
    snprintf(name, sizeof(name), "%s: capsid run unprivileged (vs bwrap)",
             label);
    bench_row(o, "workspace", name, v * 1e3, "ms", bwrap > 0 ? v / bwrap : 0);
    if (i > 0) {
      snprintf(name, sizeof(name), "%s: unprivileged, more than tiny", label);
      bench_row(o, "workspace", name, (v - tiny_un) * 1e3, "ms", 0);
    }
    v = median(ws[i].made, rounds);
    snprintf(name, sizeof(name), "%s: job making 100 files in 100 dirs",
             label);
    bench_row(o, "workspace", name, v * 1e3, "ms", 0);
    if (i > 0) {
      snprintf(name, sizeof(name), "%s: that job, more than tiny", label);
      bench_row(o, "workspace", name, (v - tiny_made) * 1e3, "ms", 0);
    }
    snprintf(name, sizeof(name), "%s: batch -j 1 per job (vs tiny)", label);
    bench_row(o, "workspace", name, ws[i].b1 * 1e3, "ms",
              ws[i].b1 / ws[0].b1);
    snprintf(name, sizeof(name), "%s: batch -j %d per job (vs tiny)", label,
             jobs);
    bench_row(o, "workspace", name, ws[i].bj * 1e3, "ms",
              ws[i].bj / ws[0].bj);
  }
}


static int parse(int argc, char** argv, bench_opts_t* o, long* files,
                 int* n_files, int* rounds, int* keep) {
  capsid__args_t a;
  uint64_t v;
  int opt;

  capsid__args_init(&a, "capsid bench workspace", argc, argv);
  while ((opt = capsid__args_next(&a, options)) > 0) {
    if (opt == OPT_HELP) {
      fputs(help, stdout);
      return 1;
    }
    if (opt == OPT_QUICK) {
      o->quick = 1;
      continue;
    }
    if (opt == OPT_KEEP) {
      *keep = 1;
      continue;
    }
    if (opt == OPT_CSV) {
      o->csv = a.value;
      continue;
    }
    if (capsid_parse_size(a.value, &v) != 0 || v == 0 ||
        v > (opt == OPT_FILES ? 100000000u : MAX_ROUNDS)) {
      fprintf(stderr, "capsid bench workspace: \"%s\" is not a count in "
              "range\n", a.value);
      return -1;
    }
    if (opt == OPT_ROUNDS)
      *rounds = (int)v;
    else if (opt == OPT_JOBS)
      o->jobs = (int)v;
    else if (*n_files < MAX_WS - 1)
      files[(*n_files)++] = (long)v;
  }
  if (opt < 0)
    return -1;
  if (a.index < argc) {
    fprintf(stderr, "capsid bench workspace: unexpected argument \"%s\"\n",
            argv[a.index]);
    return -1;
  }
  return 0;
}


int bench_workspace_main(int argc, char** argv) {
  bench_opts_t o;
  ws_t ws[MAX_WS];
  long files[MAX_WS] = {0};
  int n_files = 0, rounds = 20, keep = 0, n_ws, i, r, rc = 1;
  char base[1024], script[4096];
  const char* tmp = getenv("TMPDIR");
  double *spawn = NULL, *bwrap = NULL, t;
  char* true_argv[] = {"/bin/true", NULL};
  char* bwrap_argv[] = {"bwrap", "--unshare-all", "--ro-bind", "/", "/",
                        "--dev", "/dev", "--proc", "/proc", "/bin/true",
                        NULL};
  int have_bwrap;

  memset(&o, 0, sizeof(o));
  memset(ws, 0, sizeof(ws));
  o.jobs = 8;
  i = parse(argc, argv, &o, files, &n_files, &rounds, &keep);
  if (i != 0)
    return i > 0 ? 0 : 2;
  if (o.quick) {
    files[0] = 2000;
    n_files = 1;
    rounds = 3;
  } else if (n_files == 0) {
    files[0] = 100000;
    files[1] = 1000000;
    n_files = 2;
  }
  if (geteuid() != 0) {
    fprintf(stderr, "capsid bench workspace: needs root (elevated mode, "
            "after capsid setup)\n");
    return 1;
  }
  snprintf(base, sizeof(base), "%s/capsid-bench-ws-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(base) == NULL) {
    perror("capsid bench workspace: mkdtemp");
    return 1;
  }
  chmod(base, 0755);
  n_ws = n_files + 1;
  for (i = 0; i < n_ws; i++) {
    ws[i].files = i == 0 ? 100 : files[i - 1];
    ws[i].dirs = ws[i].files / 100 < 100 ? 100 : ws[i].files / 100;
    snprintf(ws[i].dir, sizeof(ws[i].dir), "%s/ws%d", base, i);
    ws[i].run_el = calloc((size_t)rounds, sizeof(double));
    ws[i].run_un = calloc((size_t)rounds, sizeof(double));
    ws[i].made = calloc((size_t)rounds, sizeof(double));
    if (ws[i].run_el == NULL || ws[i].run_un == NULL || ws[i].made == NULL ||
        bench_make_tree(ws[i].dir, ws[i].files, ws[i].dirs) != 0 ||
        write_batch(&ws[i]) != 0) {
      fprintf(stderr, "capsid bench workspace: cannot build %s\n",
              ws[i].dir);
      goto out;
    }
  }
  spawn = calloc((size_t)rounds, sizeof(double));
  bwrap = calloc((size_t)rounds, sizeof(double));
  if (spawn == NULL || bwrap == NULL)
    goto out;
  bench_header("workspace", "per command, medians; ratio as named");
  if (capsid_run(ws[0].dir, "elevated", NULL) < 0) {
    fprintf(stderr, "capsid bench workspace: capsid run --mode elevated "
            "failed (run capsid setup first)\n");
    goto out;
  }
  for (i = 1; i < n_ws; i++)
    if (first_apply(&o, base, &ws[i]) != 0) {
      fprintf(stderr, "capsid bench workspace: the first apply failed\n");
      goto out;
    }
  have_bwrap = timed(bwrap_argv) >= 0;
  for (r = 0; r < rounds; r++) {
    spawn[r] = timed(true_argv);
    bwrap[r] = have_bwrap ? timed(bwrap_argv) : 0;
    for (i = 0; i < n_ws; i++) {
      ws[i].run_el[r] = capsid_run(ws[i].dir, "elevated", NULL);
      ws[i].run_un[r] = capsid_run(ws[i].dir, "unprivileged", NULL);
      made_script(&ws[i], r, script, sizeof(script));
      ws[i].made[r] = capsid_run(ws[i].dir, "elevated", script);
      if (ws[i].run_el[r] < 0 || ws[i].run_un[r] < 0 || ws[i].made[r] < 0) {
        fprintf(stderr, "capsid bench workspace: a capsid run failed in "
                "%s\n", ws[i].dir);
        goto out;
      }
    }
  }
  for (r = 0; r < 3; r++)
    for (i = 0; i < n_ws; i++) {
      t = batch(&ws[i], 1) / BATCH_JOBS;
      if (r == 0 || t < ws[i].b1)
        ws[i].b1 = t;
      t = batch(&ws[i], o.jobs) / BATCH_JOBS;
      if (r == 0 || t < ws[i].bj)
        ws[i].bj = t;
    }
  rows(&o, ws, n_ws, rounds, median(spawn, rounds),
       have_bwrap ? median(bwrap, rounds) : 0, o.jobs);
  rc = 0;
  for (i = 0; i < n_ws; i++)
    if (mixed_round(base, &ws[i], i) != 0 || exact(&ws[i]) != 0)
      rc = 1;
  bench_note(rc == 0 ? "every workspace's record is exact (no drift, "
                       "nothing to change)"
                     : "DRIFT, or a change round failed: a record does not "
                       "match its workspace");
out:
  for (i = 0; i < MAX_WS; i++) {
    free(ws[i].run_el);
    free(ws[i].run_un);
    free(ws[i].made);
  }
  free(spawn);
  free(bwrap);
  if (keep) {
    bench_note("workspaces kept in %s", base);
  } else {
    char* rm[] = {"rm", "-rf", base, NULL};
    bench_spawn_wait(rm, 0);
  }
  return rc;
}
