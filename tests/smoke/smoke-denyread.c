/* deny_read (issue 18): a job cannot read what the policy denies, by
 * its path, a glob, a symbolic link, a hard link it makes, or
 * /proc/self/root; the control reads the same way succeed. In every mode:
 * landlock-only, which has no mount namespace, hides the same paths with
 * its Landlock rules (smoke-denyread-ll.c has what differs there). */
#include "smoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET SMOKE_DENY_SECRET
#define PUBLIC SMOKE_DENY_PUBLIC


void smoke_put(const char* dir, const char* name, const char* text) {
  char path[1400];

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  assert_int_equal(test_write_file(path, text, strlen(text)), 0);
  chmod(path, 0644);
}


/* A home of its own (HOME names it: the credentials preset follows it)
 * with keys, a glob's worth of files and a public control; a workspace
 * with dotenv files, a link into the home and a public control. */
void smoke_deny_fx_make(smoke_deny_fx_t* f) {
  const char* home = getenv("HOME");

  memset(f, 0, sizeof(*f));
  f->old_home = home != NULL ? strdup(home) : NULL;
  f->ws = smoke_workspace();
  snprintf(f->home, sizeof(f->home), "%s.home", f->ws);
  assert_int_equal(test_system("mkdir -p '%s/.ssh' '%s/.aws' '%s/keys' && "
                               "chmod -R 755 '%s'",
                               f->home, f->home, f->home, f->home),
                   0);
  smoke_put(f->home, ".ssh/id_ed25519", SECRET "\n");
  smoke_put(f->home, ".aws/credentials", SECRET "\n");
  smoke_put(f->home, "keys/a.pem", SECRET "\n");
  smoke_put(f->home, "keys/b.pem", SECRET "\n");
  smoke_put(f->home, "keys/a.txt", PUBLIC "\n");
  smoke_put(f->home, "token", SECRET "\n");
  smoke_put(f->home, "plain.txt", PUBLIC "\n");
  smoke_put(f->ws, ".env", SECRET "\n");
  smoke_put(f->ws, ".env.local", SECRET "\n");
  smoke_put(f->ws, "src.txt", PUBLIC "\n");
  assert_int_equal(test_system("ln -s '%s/.ssh/id_ed25519' '%s/key-link' && "
                               "ln -s '%s/plain.txt' '%s/plain-link'",
                               f->home, f->ws, f->home, f->ws),
                   0);
  setenv("HOME", f->home, 1);
  snprintf(f->policy, sizeof(f->policy),
           "{\"mode\":\"workspace-write\",\"deny_read\":[\"@credentials\","
           "\"@workspace-env\",\"~/keys/*.pem\",\"%s/token\"]}",
           f->home);
}


void smoke_deny_fx_free(smoke_deny_fx_t* f) {
  char* home = strdup(f->home);

  if (f->old_home != NULL)
    setenv("HOME", f->old_home, 1);
  else
    unsetenv("HOME");
  free(f->old_home);
  smoke_rmtree(f->ws);
  smoke_rmtree(home);
}


/* Runs script; the secret must show nowhere and the script must fail. */
static void refused(const smoke_job_t* job, const char* what,
                    const char* script) {
  capsid_result_t r;

  smoke_sh(job, script, &r);
  if (r.exit_code == 0 || strstr(r.out.data, SECRET) != NULL ||
      strstr(r.err.data, SECRET) != NULL) {
    fprintf(stderr, "%s: `%s` read the denied file (exit %d)\n  out: %.300s"
                    "\n  err: %.300s\n",
            what, script, r.exit_code, r.out.data, r.err.data);
    fail();
  }
  capsid_result_free(&r);
}


/* Runs script; it must succeed and print the public text. */
static void allowed(const smoke_job_t* job, const char* what,
                    const char* script) {
  capsid_result_t r;

  smoke_sh(job, script, &r);
  if (r.exit_code != 0 || strstr(r.out.data, PUBLIC) == NULL) {
    fprintf(stderr, "%s (control): `%s` failed (exit %d)\n  out: %.300s\n"
                    "  err: %.300s\n",
            what, script, r.exit_code, r.out.data, r.err.data);
    fail();
  }
  capsid_result_free(&r);
}


void smoke_deny_read(void** state) {
  smoke_deny_fx_t f;
  smoke_job_t job;
  char s[4096];

  (void)state;
  smoke_deny_fx_make(&f);
  job = (smoke_job_t){.cwd = f.ws, .network = -1, .policy = f.policy};
  /* A plain path, a directory of the preset, and its listing. */
  refused(&job, "path", "cat ~/token");
  refused(&job, "preset file", "cat ~/.ssh/id_ed25519");
  refused(&job, "preset dir", "ls ~/.ssh && cat ~/.aws/credentials");
  refused(&job, "workspace .env", "cat .env");
  allowed(&job, "path", "cat ~/plain.txt && cat src.txt");
  /* A glob: what it matches, not its neighbours. */
  refused(&job, "glob", "cat ~/keys/a.pem");
  refused(&job, "glob", "cat ~/keys/b.pem");
  refused(&job, "workspace-env glob", "cat .env.local");
  allowed(&job, "glob", "ls ~/keys && cat ~/keys/a.txt");
  /* Through a symbolic link: one there before, one the job makes. */
  refused(&job, "link", "cat key-link");
  refused(&job, "link", "ln -s ~/.ssh/id_ed25519 mine && cat mine");
  allowed(&job, "link", "cat plain-link");
  allowed(&job, "link", "ln -s ~/plain.txt mine2 && cat mine2");
  /* A hard link the job makes: it cannot reach the covered inode. */
  refused(&job, "hard link", "ln .env hl; cat hl");
  refused(&job, "hard link", "ln ~/token hl2; cat hl2");
  allowed(&job, "hard link", "ln src.txt hl3 && cat hl3");
  /* /proc/self/root resolves in the job's namespace. */
  snprintf(s, sizeof(s), "cat /proc/self/root%s/.ssh/id_ed25519", f.home);
  refused(&job, "/proc/self/root", s);
  snprintf(s, sizeof(s), "cat /proc/self/root%s/token; cat "
                         "/proc/$$/root%s/.env",
           f.home, f.ws);
  refused(&job, "/proc/self/root", s);
  snprintf(s, sizeof(s), "cat /proc/self/root%s/plain.txt", f.home);
  allowed(&job, "/proc/self/root", s);
  /* The cover cannot be opened up or moved aside. */
  refused(&job, "chmod", "chmod 644 .env; cat .env");
  refused(&job, "rename", "mv .env moved; cat moved");
  refused(&job, "unmount", "umount .env; umount ~/.ssh; "
                           "cat .env ~/.ssh/id_ed25519");
  /* Nor from a user namespace of its own, where it would hold
   * CAP_SYS_ADMIN (the kernel locks mounts copied into one too). */
  refused(&job, "unmount in a new user namespace",
          "unshare -Urm sh -c 'umount .env; umount -l ~/.ssh; "
          "cat .env ~/.ssh/id_ed25519'");
  /* Nothing changed on the host: the files are still there. */
  assert_int_equal(test_system("grep -q %s '%s/.env' && grep -q %s "
                               "'%s/.ssh/id_ed25519'",
                               SECRET, f.ws, SECRET, f.home),
                   0);
  smoke_deny_fx_free(&f);
}


/* 1 when the result's denials list {op, path, rule}. */
static int lists(const capsid_result_t* r, const char* op, const char* path,
                 const char* rule) {
  char want[2400];

  snprintf(want, sizeof(want), "{\"op\":\"%s\",\"path\":\"%s\",\"rule\":"
                               "\"%s\"}",
           op, path, rule);
  return r->denials != NULL && strstr(r->denials, want) != NULL;
}


/* Each kind of refusal the sandbox makes is reported with the path and
 * the rule; a refusal by a file's own mode inside the roots is not. The
 * sandbox object names the roots. */
void smoke_denial_reports(void** state) {
  smoke_deny_fx_t f;
  smoke_job_t job;
  capsid_result_t r;
  char outside[1400], s[4096], path[1400];
  const char* write_op;
  int mounts = smoke_mode_ran != CAPSID_MODE_LANDLOCK_ONLY;

  (void)state;
  smoke_deny_fx_make(&f);
  snprintf(outside, sizeof(outside), "%s/outside-%s", smoke_dir(),
           smoke_token());
  smoke_put(f.ws, "own-000", PUBLIC "\n");
  snprintf(path, sizeof(path), "%s/own-000", f.ws);
  chmod(path, 0);
  job = (smoke_job_t){.cwd = f.ws, .network = -1,
                      .policy = mounts ? f.policy : NULL};
  snprintf(s, sizeof(s), "echo x > '%s'; cat own-000; %s exit 0", outside,
           mounts ? "touch .git-made-not; mkdir -p .git/hooks; "
                    "cat ~/.ssh/id_ed25519;"
                  : "");
  smoke_sh(&job, s, &r);
  /* A read-only mount answers EROFS, Landlock alone EACCES. */
  write_op = mounts ? "write" : "open";
  if (!lists(&r, write_op, outside, "outside writable roots")) {
    fprintf(stderr, "denials: %s\nstderr: %s\n", r.denials, r.err.data);
    fail();
  }
  if (mounts) {
    snprintf(path, sizeof(path), "%s/.git", f.ws);
    mkdir(path, 0755);
    capsid_result_free(&r);
    smoke_sh(&job, "touch .git/hook; cat ~/.ssh/id_ed25519; exit 0", &r);
    snprintf(path, sizeof(path), "%s/.git/hook", f.ws);
    assert_true(lists(&r, "write", path, "protected"));
    snprintf(path, sizeof(path), "%s/.ssh/id_ed25519", f.home);
    assert_true(lists(&r, "read", path, "deny_read"));
    snprintf(path, sizeof(path), "\"deny_read\":[\"%s/.ssh\"", f.home);
    assert_non_null(strstr(r.sandbox, path));
  }
  /* Control: the file's own mode refused own-000 (the job holds no
   * capability that overrides modes), inside the roots: not listed. */
  assert_null(strstr(r.denials, "own-000"));
  snprintf(path, sizeof(path), "\"writable_roots\":[\"%s\"", f.ws);
  assert_non_null(strstr(r.sandbox, path));
  capsid_result_free(&r);
  unlink(outside);
  smoke_deny_fx_free(&f);
}
