/* What may be a workspace or a writable root: the portable half of the
 * rule in workspace-rule.h (system trees, the state directory, shared
 * temporary directories). The per-OS half checks links and ownership. */
#include "workspace-rule.h"

#include "policy.h"
#include "system.h"

#include <string.h>

int capsid__root_refuse(capsid_error_t* err, const char* field,
                        const char* given, const char* why) {
  return capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                           given, field,
                           "%s: \"%s\" cannot be made writable: %s", field,
                           given, why);
}


/* canon is, contains or lies inside one of list: say which. */
static const char* overlap(const capsid__strv_t* list, const char* canon,
                           int* above) {
  size_t i;

  for (i = 0; i < list->n; i++) {
    if (capsid__path_is_within(canon, list->v[i])) {
      *above = 0;
      return list->v[i];
    }
    if (capsid__path_is_within(list->v[i], canon)) {
      *above = 1;
      return list->v[i];
    }
  }
  return NULL;
}


/* in_shared: canon lies inside a shared temporary directory, which may
 * itself lie inside a system tree (/var/tmp in /var). */
static int check_trees(const char* given, const char* canon,
                       const char* field, int in_shared,
                       capsid_error_t* err) {
  capsid__strv_t trees = {0}, state = {0};
  const char* hit;
  char* why = NULL;
  char* dir = NULL;
  int os_error = 0, above = 0, rc;

  rc = capsid__root_system_trees(&trees);
  if (rc == 0 && capsid__path_canonical_lax(NULL, capsid__state_dir(), &dir,
                                            &os_error) == 0)
    rc = capsid__strv_push_owned(&state, dir);
  if (rc != 0)
    goto out;
  hit = overlap(&trees, canon, &above);
  if (hit != NULL && in_shared && !above)
    hit = NULL;
  if (hit != NULL && above)
    why = capsid__sprintf("it contains the system directory %s", hit);
  else if (hit != NULL)
    why = capsid__sprintf("it is or lies inside the system directory %s; "
                          "use a directory of your own", hit);
  else if ((hit = overlap(&state, canon, &above)) != NULL)
    why = capsid__sprintf("%s capsid's state directory %s",
                          above ? "it contains" : "it is or lies inside",
                          hit);
  else
    goto out;
  rc = why == NULL ? CAPSID_ENOMEM : capsid__root_refuse(err, field, given, why);
out:
  capsid__free(why);
  capsid__strv_free(&trees);
  capsid__strv_free(&state);
  return rc;
}


int capsid__root_check(const char* base, const char* given,
                       const char* canon, const char* field, int tmp,
                       capsid_error_t* err) {
  capsid__strv_t shared = {0};
  size_t i;
  int in_shared = 0, rc;

  rc = capsid__root_shared_tmp(&shared);
  for (i = 0; rc == 0 && i < shared.n; i++) {
    /* A job's own temp directory under /tmp gives it nothing /tmp does
     * not; those are not walked by the ACL engine either. */
    if (tmp && capsid__path_is_within(canon, shared.v[i])) {
      capsid__strv_free(&shared);
      return 0;
    }
    in_shared |= capsid__path_is_within(canon, shared.v[i]);
  }
  capsid__strv_free(&shared);
  if (rc == 0)
    rc = check_trees(given, canon, field, in_shared, err);
  if (rc == 0)
    rc = capsid__root_os_check(base, given, canon, field, err);
  return rc;
}
