/* Principals on Linux: numeric uids and gids (see acl.h). */
#include "acl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int capsid__acl_principal_parse(const char* text, capsid__acl_who_kind_t kind,
                                const char* field,
                                capsid__acl_principal_t* out,
                                capsid_error_t* err) {
  char* end;
  unsigned long n;

  memset(out, 0, sizeof(*out));
  errno = 0;
  n = strtoul(text, &end, 10);
  /* 0xffffffff is (uid_t)-1, "no change" to chown: never an identity. */
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
      n >= 0xffffffffu)
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL, 0, NULL,
                             field, "%s: \"%s\" is not a numeric id", field,
                             text);
  out->kind = kind;
  out->id = (uint32_t)n;
  return 0;
}


int capsid__acl_principal_owner(const char* path,
                                capsid__acl_principal_t* out,
                                capsid_error_t* err) {
  struct stat st;

  memset(out, 0, sizeof(*out));
  if (stat(path, &st) != 0)
    return capsid__error_set(err, capsid__translate_os_error(errno),
                             CAPSID_STAGE_ACL, errno, path, NULL,
                             "cannot find the owner of %s", path);
  out->kind = CAPSID__ACL_USER;
  out->id = (uint32_t)st.st_uid;
  return 0;
}


void capsid__acl_principal_free(capsid__acl_principal_t* p) {
  (void)p; /* nothing allocated on POSIX */
}
