/* The capability store: which identity each workspace and each extra
 * writable root has, allocated once from a reserved range and kept in one
 * JSON file under the state directory.
 *
 * Ids, on Linux: the range [first, first + count) is capsid's. The first
 * three ids are fixed -- the capsid-users group (every sandbox identity's
 * primary group, which read grants name), the generic group and the
 * read-only group -- and every workspace root then takes one id used as
 * both its uid and its gid, every extra writable root one gid. Nothing
 * needs /etc/passwd entries: like capability SIDs, these are identities
 * that ACL entries name. On Windows the same ids are the last
 * sub-authority of the capability SIDs: each store has a random SID domain
 * ("sid_domain": "S-1-5-21-a-b-c", made by the Windows backend), and id n
 * is the SID "<sid_domain>-n" (sandbox/win/capstore-win.c). Paths are
 * absolute in the OS's canonical spelling: "/..." or "C:/...".
 *
 * The file is written atomically (base/file.h). One that cannot be
 * parsed is moved aside (to <file>.corrupt-<time>) and reported; it is
 * never silently reused or overwritten. */
#ifndef CAPSID_CAPSTORE_H
#define CAPSID_CAPSTORE_H

#include "capsid-common.h"

#define CAPSID__CAPSTORE_VERSION 1
#define CAPSID__CAPSTORE_FILE "capabilities.json"
/* The default range: well above any distribution's dynamic uids and
 * systemd's DynamicUser range (61184-65519). */
#define CAPSID__ID_FIRST_DEFAULT 3210000000u
#define CAPSID__ID_COUNT_DEFAULT 65536u

/* "S-1-5-21-" and three 32-bit values, with room to spare. */
#define CAPSID__SID_DOMAIN_MAX 48

typedef struct capsid__cap_entry_s {
  char* path;   /* canonical absolute root */
  uint32_t id;  /* uid+gid of a workspace, gid of an extra root */
} capsid__cap_entry_t;

typedef struct capsid__capstore_s {
  uint32_t first;   /* the reserved range */
  uint32_t count;
  uint32_t next;    /* next id to hand out */
  capsid__cap_entry_t* workspaces;
  size_t n_workspaces;
  capsid__cap_entry_t* roots;
  size_t n_roots;
  /* "S-1-5-21-a-b-c" or "" (Linux stores have none). */
  char sid_domain[CAPSID__SID_DOMAIN_MAX];
} capsid__capstore_t;

/* The fixed ids of a store. */
#define CAPSID__CAP_USERS(s) ((s)->first)
#define CAPSID__CAP_GENERIC(s) ((s)->first + 1)
#define CAPSID__CAP_READ_ONLY(s) ((s)->first + 2)

/* A fresh store over [first, first + count). count must be > 3. */
int capsid__capstore_init(capsid__capstore_t* s, uint32_t first,
                          uint32_t count);
void capsid__capstore_free(capsid__capstore_t* s);

/* Parses the file's text. Pure (no I/O): the fuzz target's entry point.
 * Fails with CAPSID_ECORRUPT and err naming what is wrong. */
int capsid__capstore_parse(const char* text, size_t len,
                           capsid__capstore_t* out, capsid_error_t* err);
/* The file's text (NUL-terminated, capsid__free it), or NULL on ENOMEM. */
char* capsid__capstore_format(const capsid__capstore_t* s);

/* Reads the store from dir. A missing file is CAPSID_ENOSETUP. A corrupt
 * one is renamed aside and CAPSID_ECORRUPT returned, err saying where it
 * went. */
int capsid__capstore_load(const char* dir, capsid__capstore_t* out,
                          capsid_error_t* err);
int capsid__capstore_save(const char* dir, const capsid__capstore_t* s,
                          capsid_error_t* err);

/* The id of a workspace root / extra root, allocated if new (*added = 1;
 * the caller saves). CAPSID_ERANGE when the range is used up. */
int capsid__capstore_workspace(capsid__capstore_t* s, const char* path,
                               uint32_t* id, int* added);
int capsid__capstore_root(capsid__capstore_t* s, const char* path,
                          uint32_t* id, int* added);

/* Takes the store's exclusive lock (DIR/capabilities.lock), waiting;
 * release it with capsid__file_unlock (base/file.h). */
int capsid__capstore_lock(const char* dir, intptr_t* lock,
                          capsid_error_t* err);

/* Looks up, allocates and saves under an exclusive lock on the store, so
 * concurrent capsid processes agree: ids[i] receives the id of paths[i];
 * paths[0] is the workspace, the rest extra roots. Also fills *store with
 * the store as saved. */
int capsid__capstore_ensure(const char* dir, const char* const* paths,
                            size_t n, uint32_t* ids,
                            capsid__capstore_t* store, capsid_error_t* err);

#endif
