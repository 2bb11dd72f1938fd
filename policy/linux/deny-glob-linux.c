/* deny_read on Linux: the home "~" stands for, and glob(3). */
#include "denyread.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char* passwd_home(uid_t uid) {
  struct passwd pw;
  struct passwd* res = NULL;
  char buf[4096];

  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
      pw.pw_dir == NULL || pw.pw_dir[0] != '/')
    return NULL;
  return capsid__strdup(pw.pw_dir);
}


/* Declared in denyread.h. Under sudo, $HOME may be root's (sudo's
 * env_reset): the credentials to hide are those of the user who ran it. */
char* capsid__deny_home(void) {
  const char* sudo = getenv("SUDO_UID");
  const char* env = getenv("HOME");
  char* home = NULL;
  char* canon = NULL;
  int os_error = 0;

  if (getuid() == 0 && sudo != NULL && *sudo != '\0') {
    char* end;
    unsigned long v;

    errno = 0;
    v = strtoul(sudo, &end, 10);
    if (errno == 0 && *end == '\0' && v < (uid_t)-1)
      home = passwd_home((uid_t)v);
  }
  if (home == NULL && env != NULL && env[0] == '/')
    home = capsid__strdup(env);
  if (home == NULL)
    home = passwd_home(getuid());
  if (home != NULL && capsid__path_canonical(NULL, home, &canon,
                                             &os_error) != 0)
    canon = NULL;
  capsid__free(home);
  return canon;
}


/* Declared in denyread.h. GLOB_PERIOD is not set: "*" does not match a
 * leading dot, as in a shell, so a dot file is matched only by a pattern that starts with a dot. */
int capsid__deny_glob(const char* pattern, capsid__strv_t* out) {
  glob_t g;
  size_t i;
  int rc;

  memset(&g, 0, sizeof(g));
  rc = glob(pattern, 0, NULL, &g);
  if (rc == GLOB_NOSPACE) {
    globfree(&g);
    return CAPSID_ENOMEM;
  }
  for (i = 0; rc == 0 && i < g.gl_pathc; i++)
    if (capsid__strv_push(out, g.gl_pathv[i]) != 0)
      rc = CAPSID_ENOMEM;
  globfree(&g);
  return rc == CAPSID_ENOMEM ? rc : 0;
}
