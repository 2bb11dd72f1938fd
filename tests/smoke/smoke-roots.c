/* What may be a workspace or a writable root (policy/workspace-rule.h),
 * through the C API in every mode: system trees, links a job planted, and
 * (capsid as root) directories of another user are refused before
 * anything is granted or run; the controls run. */
#include "smoke.h"

#include "confine-linux.h"
#include "policy.h"
#include "system.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OTHER_UID 4242 /* a regular user with no account here */


/* A job that must be refused: capsid fails with CAPSID_EPOLICY naming
 * field, and the command (which would leave a marker) never ran. */
static void refused(const smoke_job_t* job, const char* field,
                    const char* needle) {
  char marker[4400], script[512], msg[1024];
  const char* token = smoke_token();
  capsid_result_t r;

  /* Where the job would have written had it run. */
  snprintf(marker, sizeof(marker), "%s/capsid-roots-%s",
           job->cwd ? job->cwd : ".", token);
  snprintf(script, sizeof(script), "touch capsid-roots-%s", token);
  smoke_run(job, script, &r);
  capsid_error_format(&r.error, msg, sizeof(msg));
  if (r.error.code != CAPSID_EPOLICY || r.error.field == NULL ||
      strcmp(r.error.field, field) != 0 || strstr(msg, needle) == NULL)
    fail_msg("cwd %s: want CAPSID_EPOLICY in %s saying \"%s\", got: %s",
             job->cwd ? job->cwd : ".", field, needle,
             r.error.code ? msg : "(ran)");
  assert_int_equal(access(marker, F_OK), -1);
  capsid_result_free(&r);
}


/* A digest of the ACLs of /etc and /usr/local (whole trees) and of /root
 * itself (its tree is too large to list twice a run), to show that the
 * refusals changed none of them. */
static char* acls_digest(void) {
  char out[4300];
  char* text;

  snprintf(out, sizeof(out), "%s/acls-%s", smoke_dir(), smoke_token());
  assert_int_equal(test_system("(getfacl -pR /etc /usr/local; getfacl -p "
                               "/root) 2>/dev/null | sha256sum >'%s'",
                               out),
                   0);
  text = test_read_file(out, NULL);
  unlink(out);
  assert_non_null(text);
  return text;
}


void smoke_roots_system_trees(void** state) {
  const char* usr_local[] = {"/usr/local", NULL};
  const char* tmpdir_etc[] = {"TMPDIR=/etc", NULL};
  char* ws = smoke_workspace();
  char link[4200];
  smoke_job_t job = {.network = -1};
  char* before = acls_digest();
  char* after;

  (void)state;
  job.cwd = "/etc";
  refused(&job, "cwd", "system directory /etc");
  job.cwd = "/root";
  refused(&job, "cwd", "system directory /root");
  job.cwd = ws;
  job.writable = usr_local;
  refused(&job, "writable_roots[0]", "system directory /usr");
  job.writable = NULL;
  /* Named through a link. */
  snprintf(link, sizeof(link), "%s/etc-link", ws);
  assert_int_equal(symlink("/etc", link), 0);
  job.cwd = link;
  refused(&job, "cwd", "system directory /etc");
  /* A temp dir from the job's environment is a writable root too. */
  job.cwd = ws;
  job.env = tmpdir_etc;
  refused(&job, "TMPDIR", "system directory /etc");
  job.env = NULL;
  after = acls_digest();
  assert_string_equal(before, after);
  /* Control: the workspace itself. */
  assert_int_equal(smoke_sh_status(&job, "echo ok > mine"), 0);
  free(before);
  free(after);
  smoke_rmtree(ws);
}


/* A job plants `sub -> <elsewhere>` in its workspace; the next command
 * names ws/sub. The link is the job's, so it is refused, and so is a
 * writable root through it; naming the directory itself works. */
void smoke_roots_planted_link(void** state) {
  const char* sub[] = {"sub", NULL};
  char* ws = smoke_workspace();
  char* other = smoke_workspace();
  char script[4400], path[4400];
  smoke_job_t job = {.cwd = ws, .network = -1};

  (void)state;
  snprintf(script, sizeof(script), "ln -s '%s' sub && ln -s /etc etc",
           other);
  assert_int_equal(smoke_sh_status(&job, script), 0);
  snprintf(path, sizeof(path), "%s/sub", ws);
  job.cwd = path;
  refused(&job, "cwd", "symbolic link");
  job.cwd = ws;
  job.writable = sub;
  refused(&job, "writable_roots[0]", "name the directory itself");
  snprintf(path, sizeof(path), "%s/etc", ws);
  job.cwd = path;
  job.writable = NULL;
  refused(&job, "cwd", "/etc");
  /* Control: the other workspace named as itself. */
  job.cwd = other;
  assert_int_equal(smoke_sh_status(&job, "echo ok > mine"), 0);
  smoke_rmtree(other);
  smoke_rmtree(ws);
}


/* Writes (or removes, when text is NULL) the administrator's allow-list
 * of the state directory in use. */
static void allow_list(const char* text, unsigned mode) {
  char path[4200];

  snprintf(path, sizeof(path), "%s/allowed-roots", capsid__state_dir());
  unlink(path);
  if (text == NULL)
    return;
  assert_int_equal(test_write_file(path, text, strlen(text)), 0);
  assert_int_equal(chmod(path, mode), 0);
}


/* Capsid as root: another user's directory is refused unless that user
 * invoked capsid (sudo) or the administrator allowed it. */
void smoke_roots_other_owner(void** state) {
  char* ws = smoke_workspace();
  char* theirs = smoke_workspace();
  char own_state[4200], allowed[4300];
  smoke_job_t job = {.cwd = theirs, .network = -1};
  int private_state = getenv("CAPSID_STATE_DIR") == NULL, made_state;

  (void)state;
  if (geteuid() != 0) {
    smoke_rmtree(theirs);
    smoke_rmtree(ws);
    if (test_may_skip("the owner rule is for capsid running as root"))
      skip();
    fail();
  }
  /* The allow-list lives in the state directory: never the machine's. */
  if (private_state) {
    snprintf(own_state, sizeof(own_state), "%s/roots-state", smoke_dir());
    setenv("CAPSID_STATE_DIR", own_state, 1);
  }
  /* The variant's may not exist (landlock-only keeps auto off elevated
   * mode that way): made for the list, removed after. */
  made_state = mkdir(capsid__state_dir(), 0700) == 0;
  assert_int_equal(chown(theirs, OTHER_UID, OTHER_UID), 0);
  refused(&job, "cwd", "not by the invoking user");
  /* That user invoking capsid through sudo: runs. */
  setenv("SUDO_UID", "4242", 1);
  assert_int_equal(smoke_sh_status(&job, "true"), 0);
  /* ... but then root's own directory is not theirs. */
  job.cwd = ws;
  refused(&job, "cwd", "owned by root");
  unsetenv("SUDO_UID");
  /* The administrator's allow-list lifts the owner rule, and only when
   * only root can write the list. */
  job.cwd = theirs;
  snprintf(allowed, sizeof(allowed), "# test\n%s\n", theirs);
  allow_list(allowed, 0666);
  refused(&job, "cwd", "allow-list");
  allow_list(allowed, 0644);
  assert_int_equal(smoke_sh_status(&job, "true"), 0);
  allow_list(NULL, 0);
  refused(&job, "cwd", "allowed-roots");
  if (made_state)
    rmdir(capsid__state_dir());
  if (private_state)
    unsetenv("CAPSID_STATE_DIR");
  smoke_rmtree(theirs);
  smoke_rmtree(ws);
}


/* A root checked at resolution and swapped for a symbolic link before the
 * job starts (by a job of the same workspace, say) is not followed: the
 * Landlock rule for it is refused, so the job would not run. Control: the
 * directory itself. */
void smoke_roots_swapped_before_launch(void** state) {
  char* ws = smoke_workspace();
  char* other = smoke_workspace();
  char path[4200];
  capsid__sandbox_t sb;
  capsid_error_t err = {0};
  int fd = -1;

  (void)state;
  memset(&sb, 0, sizeof(sb));
  sb.kind = CAPSID__POLICY_WORKSPACE_WRITE;
  sb.cwd = ws;
  snprintf(path, sizeof(path), "%s/sub", ws);
  assert_int_equal(mkdir(path, 0755), 0);
  assert_int_equal(capsid__strv_push(&sb.writable, path), 0);
  assert_int_equal(capsid__landlock_build(&sb, 0, &fd, &err), 0);
  assert_true(fd >= 0);
  close(fd);
  /* The swap: sub is now a link to another directory. */
  assert_int_equal(rmdir(path), 0);
  assert_int_equal(symlink(other, path), 0);
  fd = -1;
  assert_int_equal(capsid__landlock_build(&sb, 0, &fd, &err),
                   CAPSID_ECONFINE);
  assert_int_equal(fd, -1);
  assert_non_null(strstr(err.message, "Landlock"));
  assert_string_equal(err.path, path);
  capsid__error_free(&err);
  capsid__strv_free(&sb.writable);
  smoke_rmtree(other);
  smoke_rmtree(ws);
}
