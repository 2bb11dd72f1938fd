/* What may be a workspace or a writable root: the portable half of the
 * rule in workspace-rule.h (system trees, shared temporary
 * directories). The per-OS half checks links and ownership. */
#include "workspace-rule.h"

#include "policy.h"

#include <string.h>

/* canon is, contains or lies inside one of list: say which. */
static const char* overlap(const char* const* list, const char* canon,
                           int* above) {
  for (; *list != NULL; list++) {
    if (capsid__path_is_within(canon, *list)) {
      *above = 0;
      return *list;
    }
    if (capsid__path_is_within(*list, canon)) {
      *above = 1;
      return *list;
    }
  }
  return NULL;
}


/* in_shared: canon lies inside a shared temporary directory, which may
 * itself lie inside a system tree (/var/tmp in /var). */
static int check_trees(const char* given, const char* canon,
                       const char* field, int in_shared,
                       capsid_error_t* err) {
  const char* hit;
  char* why;
  int above = 0, rc;

  hit = overlap(capsid__root_system_trees(), canon, &above);
  if (hit == NULL || (in_shared && !above))
    return 0;
  if (above)
    why = capsid__sprintf("it contains the system directory %s", hit);
  else
    why = capsid__sprintf("it is or lies inside the system directory %s; "
                          "use a directory of your own", hit);
  rc = why == NULL ? CAPSID_ENOMEM : capsid__root_refuse(err, field, given, why);
  capsid__free(why);
  return rc;
}


int capsid__root_check(const char* base, const char* given,
                       const char* canon, const char* field, int tmp,
                       capsid_error_t* err) {
  const char* const* shared;
  int in_shared = 0, rc;

  for (shared = capsid__root_shared_tmp(); *shared != NULL; shared++)
    in_shared |= capsid__path_is_within(canon, *shared);
  /* A job's own temp directory under /tmp gives it nothing /tmp does
   * not; those are not walked by the ACL engine either. */
  if (tmp && in_shared)
    return 0;
  rc = check_trees(given, canon, field, in_shared, err);
  if (rc == 0)
    rc = capsid__root_os_check(base, given, canon, field, err);
  return rc;
}
