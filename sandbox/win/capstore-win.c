/* Capability SIDs, kept in the one capability store (sandbox/capstore.c).
 *
 * The store hands out numeric ids, as on Linux; on Windows id n is the
 * capability SID "S-1-5-21-a-b-c-n", where a, b and c are the store's SID
 * domain: three random 32-bit values (BCryptGenRandom) drawn when the
 * store is created and kept in it. So a SID is an identity nobody logs on
 * as, under the domain/machine authority, that collides with no real
 * account (a real domain has other random values), and a workspace keeps
 * its SID for ever, since the ACEs on its files name it.
 *
 * Unlike Linux's elevated mode, unprivileged Windows jobs need no
 * `capsid setup`: the first job creates the store (under the store's lock,
 * so two capsid processes never create two domains). Keys are canonical
 * paths upper-cased with the system's case table, since NTFS compares
 * names without case: "c:/work/WS" and "C:/Work/ws" are one workspace. */
#include "capstore-win.h"

#include "capstore.h"
#include "file.h"
#include "system.h"
#include "win-util.h"

#include <bcrypt.h>

#include <stdio.h>
#include <string.h>

int capsid__sid_domain_random(char out[CAPSID__SID_DOMAIN_MAX]) {
  ULONG v[3];

  if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, (PUCHAR)v, sizeof(v),
                                      BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
    return CAPSID_EIO;
  snprintf(out, CAPSID__SID_DOMAIN_MAX, "S-1-5-21-%lu-%lu-%lu", v[0], v[1],
           v[2]);
  return 0;
}


void capsid__sid_of(const char* domain, uint32_t id,
                    char out[CAPSID__SID_MAX]) {
  snprintf(out, CAPSID__SID_MAX, "%s-%lu", domain, (unsigned long)id);
}


char* capsid__cap_key(const char* root) {
  WCHAR* w = capsid__utf16(root);
  char* key;

  if (w == NULL)
    return NULL;
  CharUpperBuffW(w, (DWORD)wcslen(w));
  key = capsid__utf8(w);
  capsid__free(w);
  return key;
}


/* Makes sure the store exists and has a SID domain, then reads it. */
static int bootstrap(const char* dir, capsid__capstore_t* s,
                     capsid_error_t* err) {
  intptr_t lock;
  int rc, os_error = 0, save = 0;

  memset(s, 0, sizeof(*s));
  rc = capsid__mkdirs(dir, &os_error);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_CAPABILITY, os_error, dir,
                             NULL, "cannot create the state directory %s",
                             dir);
  rc = capsid__capstore_lock(dir, &lock, err);
  if (rc != 0)
    return rc;
  rc = capsid__capstore_load(dir, s, err);
  if (rc == CAPSID_ENOSETUP) {
    capsid__error_free(err);
    rc = capsid__capstore_init(s, CAPSID__ID_FIRST_DEFAULT,
                               CAPSID__ID_COUNT_DEFAULT);
    save = 1;
  }
  if (rc == 0 && s->sid_domain[0] == '\0') {
    rc = capsid__sid_domain_random(s->sid_domain);
    if (rc != 0)
      capsid__error_set(err, rc, CAPSID_STAGE_CAPABILITY, 0, NULL, NULL,
                        "the system random number generator failed");
    save = 1;
  }
  if (rc == 0 && save)
    rc = capsid__capstore_save(dir, s, err);
  capsid__file_unlock(lock);
  if (rc != 0)
    capsid__capstore_free(s);
  return rc;
}


int capsid__caps_get(const char* const* roots, size_t n, capsid__caps_t* out,
                     capsid_error_t* err) {
  const char* dir = capsid__state_dir();
  capsid__capstore_t s, t;
  uint32_t* ids = NULL;
  char** keys = NULL;
  size_t i;
  int rc;

  memset(out, 0, sizeof(*out));
  rc = bootstrap(dir, &s, err);
  if (rc != 0)
    return rc;
  capsid__sid_of(s.sid_domain, CAPSID__CAP_GENERIC(&s), out->generic);
  capsid__sid_of(s.sid_domain, CAPSID__CAP_READ_ONLY(&s), out->read_only);
  capsid__sid_of(s.sid_domain, CAPSID__CAP_USERS(&s), out->users);
  if (n == 0) {
    capsid__capstore_free(&s);
    return 0;
  }
  keys = capsid__calloc(n, sizeof(*keys));
  ids = capsid__calloc(n, sizeof(*ids));
  for (i = 0; keys != NULL && ids != NULL && i < n; i++)
    if ((keys[i] = capsid__cap_key(roots[i])) == NULL)
      break;
  if (keys == NULL || ids == NULL || i < n) {
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_CAPABILITY, 0,
                           roots[0], NULL, NULL);
    goto out;
  }
  /* The extra roots are entered too: their ids are not used for SIDs
   * (they share the generic one, to keep the token small), but the
   * entries say where capsid granted it, which uninstall needs. */
  rc = capsid__capstore_ensure(dir, (const char* const*)keys, n, ids, &t,
                               err);
  if (rc != 0)
    goto out;
  if (strcmp(t.sid_domain, s.sid_domain) != 0)
    /* Replaced between the two locks (an uninstall and a new store): the
     * SIDs above belong to the old one. */
    rc = capsid__error_set(err, CAPSID_EAGAIN, CAPSID_STAGE_CAPABILITY, 0,
                           dir, NULL, "the capability store was replaced "
                           "while it was read; run the job again");
  else
    capsid__sid_of(t.sid_domain, ids[0], out->workspace);
  capsid__capstore_free(&t);

out:
  for (i = 0; keys != NULL && i < n; i++)
    capsid__free(keys[i]);
  capsid__free(keys);
  capsid__free(ids);
  capsid__capstore_free(&s);
  return rc;
}
