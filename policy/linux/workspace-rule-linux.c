/* What may be a workspace or a writable root, Linux half: the system
 * trees, the symbolic links on the way to a root, and (capsid running as
 * root) who owns it. See policy/workspace-rule.h. */
#include "workspace-rule.h"

#include "env.h"
#include "file.h"
#include "policy.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* This runs for every root of every job: realpath() always gets a
 * buffer here, and the lists below are resolved once per process. */
#define MAX_LINKS 40 /* the kernel's own limit (ELOOP) */
#define ALLOWED_MAX (64 * 1024)

/* Trees the system and its daemons own. /var/tmp lies inside /var and
 * stays usable: capsid__root_check exempts the shared tmp dirs. */
static const char* const system_trees[] = {
    "/etc",  "/usr",  "/bin", "/sbin", "/lib",  "/lib32", "/lib64",
    "/libx32", "/boot", "/dev", "/proc", "/sys", "/run", "/var",
    "/root", "/opt", "/srv", "/snap", NULL};
static const char* const shared_tmp[] = {"/tmp", "/var/tmp", "/dev/shm",
                                         NULL};


#define N_TREES (sizeof(system_trees) / sizeof(system_trees[0]))
#define N_SHARED (sizeof(shared_tmp) / sizeof(shared_tmp[0]))

/* Where the names lead (/lib -> usr/lib and the like), once. */
static pthread_once_t lists_once = PTHREAD_ONCE_INIT;
static char trees_buf[N_TREES][PATH_MAX];
static char shared_buf[N_SHARED][PATH_MAX];
static const char* trees_real[N_TREES];
static const char* shared_real[N_SHARED];
static char home_buf[PATH_MAX];
static const char* home_real; /* /home, canonical; NULL if missing */

static void resolve_list(const char* const* list, char (*buf)[PATH_MAX],
                         const char** out) {
  for (; *list != NULL; list++, buf++, out++)
    *out = realpath(*list, *buf) != NULL ? *buf : *list;
  *out = NULL;
}


static void lists_init(void) {
  resolve_list(system_trees, trees_buf, trees_real);
  resolve_list(shared_tmp, shared_buf, shared_real);
  home_real = realpath("/home", home_buf);
}


const char* const* capsid__root_system_trees(void) {
  pthread_once(&lists_once, lists_init);
  return trees_real;
}


const char* const* capsid__root_shared_tmp(void) {
  pthread_once(&lists_once, lists_init);
  return shared_real;
}


/* Where every user's home lies, resolved once like the lists above. */
static const char* home_dirs(void) {
  pthread_once(&lists_once, lists_init);
  return home_real;
}


static int refusef(capsid_error_t* err, const char* field, const char* given,
                   char* why) {
  int rc = why == NULL ? CAPSID_ENOMEM
                       : capsid__root_refuse(err, field, given, why);
  capsid__free(why);
  return rc;
}


static const char* user_name(uid_t uid, char* buf, size_t size) {
  struct passwd pw;
  struct passwd* res = NULL;
  char tmp[1024];

  if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
    snprintf(buf, size, "%s (uid %u)", pw.pw_name, (unsigned)uid);
  else
    snprintf(buf, size, "uid %u", (unsigned)uid);
  return buf;
}


/* Only root may have made or may change anything on the way to dir: it
 * and each directory above it belong to root and no one else can write
 * them (an ACL that grants write shows in the group bits as its mask).
 * Returns NULL, or the first directory that fails. */
static const char* chain_not_root_only(char* dir) {
  struct stat st;
  char* slash = dir;

  if (stat("/", &st) != 0 || st.st_uid != 0 ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return "/";
  while (slash != NULL && slash[1] != '\0') {
    slash = strchr(slash + 1, '/');
    if (slash != NULL)
      *slash = '\0';
    if (stat(dir, &st) != 0 || st.st_uid != 0 ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
      return dir; /* cut there, for the message */
    if (slash != NULL)
      *slash = '/';
  }
  return NULL;
}


/* Is dir a place no writable root can contain: /, /home, or inside a
 * system tree (and not in a shared temp dir)? A job that works as root
 * (unprivileged mode run by root) makes root's links, so only where no
 * job ever writes is a root link the administrator's. */
static int system_place(const char* dir) {
  const char* const* p;
  const char* home = home_dirs();
  int found = strcmp(dir, "/") == 0 ||
              (home != NULL && strcmp(dir, home) == 0);

  for (p = capsid__root_system_trees(); !found && *p != NULL; p++)
    found = capsid__path_is_within(dir, *p);
  for (p = capsid__root_shared_tmp(); found && *p != NULL; p++)
    found = !capsid__path_is_within(dir, *p);
  return found;
}


/* The link at dir/name, which lstat described: trusted, or refused. */
static int check_link(const char* field, const char* given, char* dir,
                      const char* link, const struct stat* st,
                      capsid_error_t* err) {
  char target[PATH_MAX], who[128];
  const char* bad = NULL;
  char* why;
  ssize_t n;
  int rc;

  if (st->st_uid != 0)
    why = capsid__sprintf("which %s owns, not root",
                          user_name(st->st_uid, who, sizeof(who)));
  else if (!system_place(dir))
    why = capsid__sprintf("in %s, where a job working as root may have "
                          "made it", dir);
  else if ((bad = chain_not_root_only(dir)) != NULL)
    why = capsid__sprintf("and %s is not root's alone to write, so a job "
                          "may have made the link", bad);
  else
    return 0;
  n = readlink(link, target, sizeof(target) - 1);
  target[n > 0 ? n : 0] = '\0';
  rc = refusef(err, field, given,
               why == NULL ? NULL
                           : capsid__sprintf("it goes through the symbolic "
                                             "link %s -> %s, %s; name the "
                                             "directory itself",
                                             link, target, why));
  capsid__free(why);
  return rc;
}


/* Walks given one component at a time as the kernel would, checking each
 * symbolic link met before following it, and ends where canonicalisation
 * ended, or the path changed in between (a job swapping a link in and
 * out) and is refused. */
static int check_links(const char* base, const char* given,
                       const char* canon, const char* field,
                       capsid_error_t* err) {
  char cur[PATH_MAX], next[PATH_MAX], target[PATH_MAX];
  char* rest;
  char* joined;
  char* p;
  struct stat st;
  int links = 0, rc = 0, done = 0;
  size_t n;
  ssize_t len;

  snprintf(cur, sizeof(cur), "%s",
           given[0] == '/' ? "/" : base != NULL ? base : "");
  if (cur[0] == '\0' && getcwd(cur, sizeof(cur)) == NULL)
    cur[0] = '\0';
  rest = capsid__strdup(given);
  if (rest == NULL)
    return CAPSID_ENOMEM;
  for (p = rest; rc == 0 && cur[0] != '\0';) {
    while (*p == '/')
      p++;
    if (*p == '\0') {
      done = 1;
      break;
    }
    n = strcspn(p, "/");
    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
      char* slash = strrchr(cur, '/');
      if (n == 2 && slash != NULL)
        slash[slash == cur ? 1 : 0] = '\0';
      p += n;
      continue;
    }
    if (snprintf(next, sizeof(next), "%s%s%.*s", cur,
                 strcmp(cur, "/") == 0 ? "" : "/", (int)n, p) >=
            (int)sizeof(next) ||
        lstat(next, &st) != 0)
      break;
    p += n;
    if (!S_ISLNK(st.st_mode)) {
      memcpy(cur, next, sizeof(cur));
      continue;
    }
    if (++links > MAX_LINKS ||
        (rc = check_link(field, given, cur, next, &st, err)) != 0 ||
        (len = readlink(next, target, sizeof(target) - 1)) <= 0)
      break;
    target[len] = '\0';
    if ((joined = capsid__sprintf("%s/%s", target, p)) == NULL) {
      rc = CAPSID_ENOMEM;
      break;
    }
    capsid__free(rest);
    rest = p = joined;
    if (target[0] == '/')
      snprintf(cur, sizeof(cur), "/");
  }
  capsid__free(rest);
  if (rc == 0 && (!done || strcmp(cur, canon) != 0))
    rc = capsid__root_refuse(err, field, given,
                             "it changed while it was being checked (a "
                             "link swapped in or out); name the directory "
                             "itself");
  return rc;
}


/* Is canon listed (or beneath a directory listed) in the administrator's
 * allow-list? 1 yes, 0 no, or an error when the list is not root's alone
 * (a list others can write allows nothing). */
static int allow_listed(const char* canon, const char* field,
                        const char* given, capsid_error_t* err) {
  char* path = capsid__sprintf("%s/%s", capsid__state_dir(),
                               CAPSID__ALLOWED_ROOTS_FILE);
  char buf[PATH_MAX];
  char* data = NULL;
  char* line;
  char* end;
  const char* real;
  struct stat st;
  size_t len;
  int os_error = 0, found = 0;

  if (path == NULL)
    return CAPSID_ENOMEM;
  if (lstat(path, &st) != 0) {
    capsid__free(path);
    return 0;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
      capsid__file_read(path, ALLOWED_MAX, &data, &len, &os_error) != 0) {
    found = refusef(err, field, given,
                    capsid__sprintf("the allow-list %s must be a regular "
                                    "file that only root can write",
                                    path));
    capsid__free(path);
    return found;
  }
  capsid__free(path);
  for (line = data; !found && line != NULL && *line != '\0'; line = end) {
    end = strchr(line, '\n');
    if (end != NULL)
      *end++ = '\0';
    line += strspn(line, " \t\r");
    len = strlen(line);
    while (len > 0 && strchr(" \t\r", line[len - 1]) != NULL)
      line[--len] = '\0';
    if (line[0] != '/')
      continue; /* blank lines, # comments */
    real = realpath(line, buf);
    found = real != NULL && capsid__path_is_within(canon, real);
  }
  capsid__free(data);
  return found;
}


/* Who asked: the user sudo ran capsid for, else the real uid. */
static uid_t invoking_user(void) {
  const char* s = getenv("SUDO_UID");
  char* end;
  unsigned long v;

  if (s != NULL && *s != '\0') {
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno == 0 && *end == '\0' && v < (uid_t)-1)
      return (uid_t)v;
  }
  return getuid();
}


/* The accounts' home directories, resolved once per version of
 * /etc/passwd rather than for every root of every job: resolving each
 * made some 120 failing readlink calls per job. The file's identity
 * (device, inode, size, mtime, ctime) says when to read it again. A home
 * missing when it was read is looked for again by every check (one stat),
 * so a home made after its account (useradd makes the account first) is
 * not missed; a home found is taken to stay where it resolved, as the
 * system trees above are, until /etc/passwd changes or the process ends.
 * Process-wide, under a mutex: policy resolution may run on several
 * threads (one runtime each). */
typedef struct home_s {
  uid_t uid;
  char* name;
  char* dir;  /* as /etc/passwd says */
  char* real; /* canonical, or NULL while missing */
} home_t;

static pthread_mutex_t homes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  int loaded;
  struct stat id;
  home_t* v;
  size_t n;
} homes;

static void homes_clear(void) {
  size_t i;

  for (i = 0; i < homes.n; i++) {
    capsid__free(homes.v[i].name);
    capsid__free(homes.v[i].dir);
    capsid__free(homes.v[i].real);
  }
  capsid__free(homes.v);
  memset(&homes, 0, sizeof(homes));
}


static int same_file(const struct stat* a, const struct stat* b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
         a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
         a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}


/* Sets real when dir exists now (a stat first: a missing home costs one
 * failing call, not a readlink per component). */
static int home_resolve(home_t* h) {
  char buf[PATH_MAX];
  struct stat st;

  if (h->real != NULL || stat(h->dir, &st) != 0 ||
      realpath(h->dir, buf) == NULL)
    return 0;
  h->real = capsid__strdup(buf);
  return h->real == NULL ? CAPSID_ENOMEM : 0;
}


/* Reads /etc/passwd (whose identity is id) into homes. */
static int homes_load(const struct stat* id) {
  struct passwd pw;
  struct passwd* res;
  char buf[2048], iobuf[4096];
  home_t* grown;
  FILE* f = fopen("/etc/passwd", "re");
  int rc = 0;

  homes_clear();
  if (f == NULL)
    return 0; /* nothing to check against, as before */
  setvbuf(f, iobuf, _IOFBF, sizeof(iobuf)); /* no buffer to allocate */
  while (rc == 0 && fgetpwent_r(f, &pw, buf, sizeof(buf), &res) == 0) {
    if (pw.pw_dir[0] != '/' || pw.pw_dir[1] == '\0')
      continue;
    grown = capsid__realloc(homes.v, (homes.n + 1) * sizeof(*grown));
    if (grown == NULL) {
      rc = CAPSID_ENOMEM;
      break;
    }
    homes.v = grown;
    memset(&grown[homes.n], 0, sizeof(*grown));
    grown[homes.n].uid = pw.pw_uid;
    grown[homes.n].name = capsid__strdup(pw.pw_name);
    grown[homes.n].dir = capsid__strdup(pw.pw_dir);
    homes.n++;
    if (grown[homes.n - 1].name == NULL || grown[homes.n - 1].dir == NULL)
      rc = CAPSID_ENOMEM;
    else
      rc = home_resolve(&grown[homes.n - 1]);
  }
  fclose(f);
  if (rc != 0) {
    homes_clear();
    return rc;
  }
  homes.id = *id;
  homes.loaded = 1;
  return 0;
}


/* canon is, or contains, the home directory of an account other than
 * the invoking user's: say whose. */
static int check_homes(const char* canon, uid_t me, const char* field,
                       const char* given, capsid_error_t* err) {
  struct stat id;
  home_t* h;
  size_t i;
  int rc = 0;

  pthread_mutex_lock(&homes_lock);
  if (stat("/etc/passwd", &id) != 0)
    homes_clear();
  else if (!homes.loaded || !same_file(&id, &homes.id))
    rc = homes_load(&id);
  for (i = 0; rc == 0 && i < homes.n; i++) {
    h = &homes.v[i];
    if (h->uid == me || (rc = home_resolve(h)) != 0 || h->real == NULL)
      continue;
    if (capsid__path_is_within(h->real, canon))
      rc = refusef(err, field, given,
                   capsid__sprintf("it %s the home directory of %s (%s)",
                                   strcmp(h->real, canon) == 0 ? "is"
                                                               : "contains",
                                   h->name, h->real));
  }
  pthread_mutex_unlock(&homes_lock);
  return rc;
}


/* Root capsid grants (or, unprivileged, writes as root) on the whole
 * tree: only what the invoking user owns, or what the administrator
 * allowed. */
static int check_owner(const char* canon, const char* field,
                       const char* given, capsid_error_t* err) {
  char owner[128], me_name[128];
  uid_t me = invoking_user();
  const char* const* shared;
  struct stat st;
  int rc = 0;

  /* Everyone's files live there, and the grants would reach them. */
  for (shared = capsid__root_shared_tmp(); rc == 0 && *shared != NULL;
       shared++)
    if (strcmp(canon, *shared) == 0)
      rc = capsid__root_refuse(err, field, given,
                               "it is a temporary directory every user "
                               "shares; use a directory inside it");
  if (rc == 0)
    rc = allow_listed(canon, field, given, err);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  if (stat(canon, &st) != 0)
    return 0; /* it was a directory a moment ago; the open will say */
  if (st.st_uid != me)
    return refusef(err, field, given,
                   capsid__sprintf("it is owned by %s, not by the invoking "
                                   "user %s; capsid running as root makes "
                                   "only the invoking user's directories "
                                   "writable unless %s/%s lists it",
                                   user_name(st.st_uid, owner, sizeof(owner)),
                                   user_name(me, me_name, sizeof(me_name)),
                                   capsid__state_dir(),
                                   CAPSID__ALLOWED_ROOTS_FILE));
  return check_homes(canon, me, field, given, err);
}


int capsid__root_os_check(const char* base, const char* given,
                          const char* canon, const char* field,
                          capsid_error_t* err) {
  const char* home = home_dirs();
  int rc = 0;

  /* Every user's home lies below it; below it is for the owner rule. */
  if (home != NULL && strcmp(canon, home) == 0)
    rc = capsid__root_refuse(err, field, given,
                             "it holds every user's home directory");
  if (rc == 0)
    rc = check_links(base, given, canon, field, err);
  if (rc == 0 && geteuid() == 0)
    rc = check_owner(canon, field, given, err);
  return rc;
}
