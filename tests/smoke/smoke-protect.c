/* Protected paths that do not exist yet (issue 13, classes 2 and 8;
 * issue 14, "-r .env"): a job cannot create .git, .codex or .agents, nor
 * a missing carve-out; a carve-out never reaches through a link a job
 * made; and after the job the host's tree is what it was plus what the
 * job wrote. */
#include "smoke.h"

#include "acl.h"
#include "system.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int exists(const char* dir, const char* name) {
  char path[1200];
  struct stat st;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return lstat(path, &st) == 0;
}


static int is_dir(const char* dir, const char* name) {
  char path[1200];
  struct stat st;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}


/* 1 when git, run by the owner in dir, finds a repository there (the
 * search stops at dir's parent: the test tree itself may be in one). */
static int git_finds_repo(const char* dir) {
  return test_system("cd '%s' && GIT_CEILING_DIRECTORIES=\"$(dirname "
                     "\"$PWD\")\" git rev-parse --git-dir >/dev/null 2>&1",
                     dir) == 0;
}


/* find + stat of dir's tree, one sorted line per inode: what a job left
 * on the host. A directory's times and size are left out: entries made
 * and removed in it change them. */
static char* tree(const char* dir) {
  char cmd[4096], out[1400];

  snprintf(out, sizeof(out), "%s.tree", dir);
  snprintf(cmd, sizeof(cmd),
           "cd '%s' && { find . -type d -printf '%%p %%y %%m %%U %%G\\n'; "
           "find . ! -type d -printf '%%p %%y %%m %%U %%G %%s %%T@ %%l\\n'; "
           "} | LC_ALL=C sort > '%s'",
           dir, out);
  assert_int_equal(test_system("%s", cmd), 0);
  {
    char* text = test_read_file(out, NULL);
    unlink(out);
    assert_non_null(text);
    return text;
  }
}


/* A workspace without .git, .codex or .agents: a job's every way of
 * making one is refused, other names are not, and nothing is left. */
void smoke_missing_names_protected(void** state) {
  static const char* const tries[] = {
      "git init -q",
      "mkdir .git",
      "mkdir .codex",
      "mkdir .agents",
      "ln -s x .git",
      "echo 'gitdir: /x' > .git",
      "mkdir -p .git/hooks",
      "mkdir made && mv -T made .git",
      "mkdir made2 && python3 -c \"import os; os.rename('made2', '.codex')\"",
      "rmdir .git && mkdir .git",
      "chmod 777 .agents",
      NULL};
  char* ws = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};
  size_t i;

  (void)state;
  assert_false(git_finds_repo(ws));
  for (i = 0; tries[i] != NULL; i++) {
    if (strstr(tries[i], "python3") != NULL && !smoke_have("python3"))
      continue;
    if (smoke_sh_status(&rw, tries[i]) == 0) {
      fprintf(stderr, "a job could run `%s`\n", tries[i]);
      fail();
    }
    /* After each job: nothing of the three on the host. */
    assert_false(exists(ws, ".git"));
    assert_false(exists(ws, ".codex"));
    assert_false(exists(ws, ".agents"));
    assert_false(git_finds_repo(ws));
  }
  /* Controls: other names, and the same job where .git is writable (it
   * is not protected beneath an extra directory). */
  assert_int_equal(smoke_sh_status(&rw, "mkdir other .gitx && "
                                        "echo x > other/f && "
                                        "mkdir -p sub && git -C sub init -q"),
                   0);
  assert_true(is_dir(ws, "other") && is_dir(ws, ".gitx"));
  assert_false(exists(ws, ".git"));
  smoke_rmtree(ws);
}


typedef struct waiter_s {
  const char* ws;
  const char* script;
  capsid_result_t result;
} waiter_t;


static void* run_waiter(void* arg) {
  waiter_t* w = arg;
  smoke_job_t job = {.cwd = w->ws, .network = -1, .timeout_ms = 120000};

  smoke_run(&job, w->script, &w->result);
  return NULL;
}


/* A long job: says it runs (touch R), waits for the test's G, then
 * tries to make .git, which must still be its read-only placeholder. */
#define LONG_JOB(R, G)                                                      \
  "touch " R "; while [ ! -e " G " ]; do sleep 0.05; done; "                \
  "if mkdir .git/x 2>/dev/null || rmdir .git 2>/dev/null || "               \
  "mkdir .git 2>/dev/null; then echo WROTE; fi; echo done"


static void wait_for(const char* dir, const char* name) {
  while (!exists(dir, name))
    usleep(20000);
}


static int long_job_ok(const capsid_result_t* r) {
  return r->error.code == 0 && r->exit_code == 0 && r->out.data != NULL &&
         strstr(r->out.data, "done") != NULL &&
         strstr(r->out.data, "WROTE") == NULL;
}


/* Two jobs of one workspace at once. The first makes the placeholders,
 * the second finds them; the first ends first and must not remove them
 * (the second's bind would go with them and it could make .git); the
 * second, ending last, removes them although another job made them.
 * in_child: the first job runs in another process (another capsid),
 * else in a thread of this one. */
static void concurrent(int in_child) {
  char* ws = smoke_workspace();
  waiter_t first = {ws, LONG_JOB("a1", "go1"), {0}};
  waiter_t second = {ws, LONG_JOB("a2", "go2"), {0}};
  pthread_t t1, t2;
  pid_t child = -1;
  int status;

  if (in_child) {
    fflush(NULL);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
      run_waiter(&first);
      _exit(long_job_ok(&first.result) ? 0 : 1);
    }
  } else {
    assert_int_equal(pthread_create(&t1, NULL, run_waiter, &first), 0);
  }
  wait_for(ws, "a1");
  assert_true(is_dir(ws, ".git"));
  assert_int_equal(pthread_create(&t2, NULL, run_waiter, &second), 0);
  wait_for(ws, "a2");
  /* The first ends while the second runs. */
  assert_int_equal(test_system("touch '%s/go1'", ws), 0);
  if (in_child) {
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  } else {
    assert_int_equal(pthread_join(t1, NULL), 0);
    smoke_check_ran(&first.result);
    assert_true(long_job_ok(&first.result));
    capsid_result_free(&first.result);
  }
  assert_true(is_dir(ws, ".git"));
  assert_int_equal(test_system("touch '%s/go2'", ws), 0);
  assert_int_equal(pthread_join(t2, NULL), 0);
  smoke_check_ran(&second.result);
  assert_true(long_job_ok(&second.result));
  capsid_result_free(&second.result);
  /* The last one out removed them. */
  assert_false(exists(ws, ".git"));
  assert_false(exists(ws, ".codex"));
  assert_false(exists(ws, ".agents"));
  smoke_rmtree(ws);
}


void smoke_placeholder_concurrent(void** state) {
  (void)state;
  concurrent(0);
  concurrent(1);
}


typedef struct {
  unsigned done, failed;
  char first_failure[512];
} churn_t;


static void on_churn_exit(capsid_job_t* job, capsid_result_t* r,
                          void* data) {
  churn_t* c = data;

  (void)job;
  c->done++;
  if (r->error.code != 0 || r->exit_code != 0) {
    if (c->failed++ == 0)
      snprintf(c->first_failure, sizeof(c->first_failure), "%s (%s)",
               r->error.code != 0 ? r->error.message : "exit code",
               r->error.path != NULL ? r->error.path : "-");
  }
  capsid_result_free(r);
}


/* Many short jobs of one workspace, three at a time: each job's
 * placeholders come and go while the others' ACL passes walk the
 * workspace. A placeholder removed between a walker's open and its
 * listing failed the walking job ("cannot list directory", about one job
 * in five in elevated mode); a directory that went away has nothing left
 * to grant, so every job must run. */
void smoke_placeholder_churn(void** state) {
  const char* argv[] = {"/bin/true", NULL};
  char* ws = smoke_workspace();
  capsid_runtime_options_t ro;
  capsid_job_spec_t s;
  capsid_runtime_t* rt;
  churn_t c;
  unsigned i, n = 90;

  (void)state;
  memset(&c, 0, sizeof(c));
  ro = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ro.max_concurrency = 3;
  assert_int_equal(capsid_runtime_new(&ro, &rt), 0);
  s = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  s.cwd = ws;
  s.network = -1;
  s.mode = smoke_mode;
  s.timeout_ms = 60000;
  s.argv = argv;
  for (i = 0; i < n; i++)
    assert_int_equal(capsid_job_start(rt, &s, on_churn_exit, &c, NULL), 0);
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  assert_int_equal(c.done, n);
  if (c.failed != 0)
    fail_msg("%u of %u jobs failed; the first: %s", c.failed, n,
             c.first_failure);
  /* The last one out removed them. */
  assert_false(exists(ws, ".git"));
  assert_false(exists(ws, ".agents"));
  smoke_rmtree(ws);
}


/* What the owner puts into a placeholder during the job is kept (rmdir
 * only), and the directory is then an ordinary one of the owner's. */
void smoke_placeholder_owner_content(void** state) {
  char* ws = smoke_workspace();
  waiter_t w = {ws, "touch a-running; while [ ! -e go ]; do sleep 0.05; "
                    "done; ! echo x > .codex/job",
                {0}};
  pthread_t thread;
  char path[1200];
  struct stat st;

  (void)state;
  assert_int_equal(pthread_create(&thread, NULL, run_waiter, &w), 0);
  wait_for(ws, "a-running");
  assert_true(is_dir(ws, ".codex"));
  assert_int_equal(test_system("echo mine > '%s/.codex/config' && touch "
                               "'%s/go'",
                               ws, ws),
                   0);
  assert_int_equal(pthread_join(thread, NULL), 0);
  smoke_check_ran(&w.result);
  assert_int_equal(w.result.exit_code, 0);
  capsid_result_free(&w.result);
  assert_true(exists(ws, ".codex/config"));
  assert_false(exists(ws, ".codex/job"));
  /* No longer marked as a placeholder (its sticky bit). */
  snprintf(path, sizeof(path), "%s/.codex", ws);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & S_ISVTX, 0);
  /* The empty placeholders went. */
  assert_false(exists(ws, ".git"));
  assert_false(exists(ws, ".agents"));
  smoke_rmtree(ws);
}


/* Elevated mode: the ACL engine's record of ws names no placeholder, and
 * a status of the plan it recorded, incremental and full, finds nothing
 * drifted and nothing to change (placeholders came and went). */
static void assert_record_clean(const char* ws) {
  capsid__acl_info_t info;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t stats;
  capsid_error_t err = {0};
  char real[4096];
  size_t i;
  int full;

  if (smoke_mode_ran != CAPSID_MODE_ELEVATED)
    return;
  assert_non_null(realpath(ws, real));
  assert_int_equal(capsid__acl_info(capsid__state_dir(), real, &info, &err),
                   0);
  assert_true(info.present && info.complete);
  for (i = 0; i < info.plan.n_targets; i++) {
    const char* p = info.plan.targets[i].path;
    assert_null(strstr(p, "/.git"));
    assert_null(strstr(p, "/.codex"));
    assert_null(strstr(p, "/.agents"));
  }
  for (full = 0; full <= 1; full++) {
    memset(&opts, 0, sizeof(opts));
    opts.state_dir = capsid__state_dir();
    opts.full = full;
    memset(&stats, 0, sizeof(stats));
    assert_int_equal(capsid__acl_run(CAPSID__ACL_STATUS, &info.plan, &opts,
                                     &stats, &err),
                     0);
    assert_int_equal(stats.drifted, 0);
    assert_int_equal(stats.changed, 0);
  }
  capsid__acl_info_free(&info);
}


/* -r .env where .env does not exist: the job cannot create it; after the
 * job it does not exist (a file can be made there), and the tree is the
 * one before plus what the job wrote. Landlock-only mode enforces no
 * carve-out, and creates none either. */
void smoke_missing_carve_out_leaves_nothing(void** state) {
  char* ws = smoke_workspace();
  const char* ro[] = {".env", "conf/deep/secret", NULL};
  smoke_job_t rw = {.cwd = ws, .read_only = ro, .network = -1};
  smoke_job_t plain = {.cwd = ws, .network = -1};
  char* before;
  char* after;
  char* want;
  int mounts = smoke_mode_ran != CAPSID_MODE_LANDLOCK_ONLY;

  (void)state;
  assert_int_equal(test_system("mkdir -p '%s/src' && echo code > "
                               "'%s/src/main.c' && ln -s src/main.c "
                               "'%s/link'",
                               ws, ws, ws),
                   0);
  /* Elevated mode's first job applies the workspace's grants (ACL mask
   * bits show in modes): the tree is compared from the second job on. */
  assert_int_equal(smoke_sh_status(&plain, "true"), 0);
  before = tree(ws);
  if (mounts) {
    assert_int_not_equal(smoke_sh_status(&rw, "echo SECRET=1 > .env"), 0);
    assert_int_not_equal(smoke_sh_status(&rw, "mkdir -p conf/deep && "
                                              "echo x > conf/deep/secret"),
                         0);
  }
  assert_int_equal(smoke_sh_status(&rw, "echo out > written.txt"), 0);
  assert_false(exists(ws, ".env"));
  assert_false(exists(ws, "conf"));
  assert_record_clean(ws);
  after = tree(ws);
  /* before + written.txt, nothing else. */
  assert_int_equal(test_system("cd '%s' && rm written.txt", ws), 0);
  want = tree(ws);
  assert_string_equal(before, want);
  assert_true(strlen(after) > strlen(before));
  assert_non_null(strstr(after, "./written.txt f"));
  free(before);
  free(after);
  free(want);
  /* The owner can now make the file the placeholder stood for. */
  assert_int_equal(test_system("cd '%s' && echo X > .env && test -f .env",
                               ws),
                   0);
  smoke_rmtree(ws);
}


/* A carve-out through a link a job made is refused, naming the field,
 * and nothing is created outside; the real path it names works. */
void smoke_carve_out_through_link(void** state) {
  char* ws = smoke_workspace();
  char* outside = smoke_workspace();
  const char* through_out[] = {"cfg/nologin", NULL};
  const char* through_in[] = {"inner/x", NULL};
  const char* real[] = {"sub/nologin", NULL};
  smoke_job_t rw = {.cwd = ws, .network = -1};
  smoke_job_t job = {.cwd = ws, .network = -1};
  capsid_result_t r;
  char script[1400];
  char* before;
  char* after;

  (void)state;
  snprintf(script, sizeof(script), "ln -s '%s' cfg && mkdir sub && "
                                   "ln -s sub inner",
           outside);
  assert_int_equal(smoke_sh_status(&rw, script), 0);
  before = tree(outside);

  job.read_only = through_out;
  smoke_run(&job, "true", &r);
  assert_int_equal(r.error.code, CAPSID_EPOLICY);
  assert_non_null(r.error.field);
  assert_string_equal(r.error.field, "read_only_paths[0]");
  capsid_result_free(&r);
  job.read_only = through_in;
  smoke_run(&job, "true", &r);
  assert_int_equal(r.error.code, CAPSID_EPOLICY);
  assert_string_equal(r.error.field, "read_only_paths[0]");
  capsid_result_free(&r);
  after = tree(outside);
  assert_string_equal(before, after);
  assert_false(exists(outside, "nologin"));
  free(before);
  free(after);

  /* Control: the real path is protected, and gone after the job. */
  job.read_only = real;
  if (smoke_mode_ran != CAPSID_MODE_LANDLOCK_ONLY)
    assert_int_not_equal(smoke_sh_status(&job, "echo x > sub/nologin"), 0);
  assert_int_equal(smoke_sh_status(&job, "echo x > sub/other"), 0);
  assert_false(exists(ws, "sub/nologin"));
  assert_true(exists(ws, "sub/other"));
  smoke_rmtree(ws);
  smoke_rmtree(outside);
}


typedef struct {
  char* ws;
  unsigned done, failed;
  char seen[2][128];    /* each job's view of .git: inode and birth */
  int there_between;    /* .git was on the host between the two jobs */
  int there_after_idle; /* .git was there after the runtime sat idle */
  uv_timer_t wait;
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
} parked_t;


static void after_idle(uv_timer_t* t) {
  parked_t* p = t->data;

  p->there_after_idle = exists(p->ws, ".git");
  uv_close((uv_handle_t*)t, NULL);
}


static void on_parked_exit(capsid_job_t* job, capsid_result_t* r,
                           void* data) {
  parked_t* p = data;

  (void)job;
  if (r->error.code != 0 || r->exit_code != 0 || r->out.data == NULL)
    p->failed++;
  else if (p->done < 2)
    snprintf(p->seen[p->done], sizeof(p->seen[0]), "%s", r->out.data);
  p->done++;
  capsid_result_free(r);
  if (p->done == 1) {
    p->there_between = exists(p->ws, ".git");
    assert_int_equal(capsid_job_start(p->rt, &p->spec, on_parked_exit, p,
                                      NULL),
                     0);
  } else if (p->done == 2) {
    /* Then the runtime sits idle for longer than it keeps them. */
    uv_timer_init(capsid_runtime_loop(p->rt), &p->wait);
    p->wait.data = p;
    uv_timer_start(&p->wait, after_idle, 3000, 0);
  }
}


/* Back-to-back jobs of one workspace in one runtime share its
 * placeholders (the second job's .git is the directory the first one
 * had: same inode, same birth time) instead of each making and removing
 * them; they go once the runtime has been idle for a moment, and at the
 * latest when it closes. Elevated mode removes them after each job (its
 * post-job ACL pass records the workspace as the job left it). Each job
 * still cannot write into or remove .git; the control: it makes and
 * removes a directory beside it. */
void smoke_placeholder_parked(void** state) {
  const char* argv[] = {"/bin/sh", "-c",
                        "stat -c '%i %w' .git && ! mkdir .git/x 2>/dev/null "
                        "&& ! rmdir .git 2>/dev/null && mkdir -p src/x && "
                        "rmdir src/x",
                        NULL};
  capsid_runtime_options_t ro;
  parked_t p;
  int keeps;

  (void)state;
  memset(&p, 0, sizeof(p));
  p.ws = smoke_workspace();
  ro = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ro.max_concurrency = 1;
  p.spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  p.spec.cwd = p.ws;
  p.spec.network = -1;
  p.spec.mode = smoke_mode;
  p.spec.timeout_ms = 60000;
  p.spec.argv = argv;
  assert_int_equal(capsid_runtime_new(&ro, &p.rt), 0);
  assert_int_equal(capsid_job_start(p.rt, &p.spec, on_parked_exit, &p, NULL),
                   0);
  capsid_runtime_run(p.rt);
  keeps = smoke_mode_ran != CAPSID_MODE_ELEVATED;
  assert_int_equal(p.done, 2);
  assert_int_equal(p.failed, 0);
  assert_true(p.seen[0][0] != '\0' && p.seen[1][0] != '\0');
  assert_int_equal(p.there_between, keeps);
  if (keeps)
    assert_string_equal(p.seen[0], p.seen[1]);
  else
    assert_string_not_equal(p.seen[0], p.seen[1]);
  assert_false(p.there_after_idle);
  capsid_runtime_close(p.rt, NULL, NULL);
  assert_false(exists(p.ws, ".git"));
  assert_false(exists(p.ws, ".codex"));

  /* A runtime closed while it keeps them: they go with it. */
  p.done = 2; /* past the chain above: one job, no idle wait */
  assert_int_equal(capsid_runtime_new(&ro, &p.rt), 0);
  assert_int_equal(capsid_job_start(p.rt, &p.spec, on_parked_exit, &p, NULL),
                   0);
  capsid_runtime_run(p.rt);
  assert_int_equal(p.failed, 0);
  assert_int_equal(exists(p.ws, ".git"), keeps);
  capsid_runtime_close(p.rt, NULL, NULL);
  assert_false(exists(p.ws, ".git"));
  assert_false(exists(p.ws, ".agents"));
  smoke_rmtree(p.ws);
}
