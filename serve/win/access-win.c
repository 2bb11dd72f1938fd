/* What a Windows client could reach and write itself, asked with its own
 * token, never the server's.
 *
 * Each path is opened while the loop's thread impersonates the client,
 * so it is resolved as the client resolves it (junctions and symbolic
 * links followed, every directory on the way opened as the client), and
 * its canonical spelling is taken from that handle. Then AccessCheck
 * answers for the client's token against the directory's own security
 * descriptor: FILE_GENERIC_WRITE for a root the job may write,
 * FILE_GENERIC_READ for a cwd it only reads (both with FILE_TRAVERSE),
 * integrity labels, deny ACEs, restricted and group SIDs included. */
#include "serve-win.h"

#include "path.h"
#include "win-util.h"

#include <aclapi.h>
#include <string.h>

typedef struct check_s {
  HANDLE token;
  PSID user;          /* the client's user SID (in user_buf) */
  BYTE user_buf[SECURITY_MAX_SID_SIZE];
  int missing_ok;
  int os_error;
  const char* why;
} check_t;


/* May the client have want (FILE_GENERIC_READ or _WRITE) on canon, and
 * is it its owner? Returns 0, or -1 with c->why and c->os_error set. */
static int client_access(check_t* c, const char* canon, DWORD want,
                         int want_owner) {
  static GENERIC_MAPPING mapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                                    FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID owner = NULL;
  PRIVILEGE_SET privileges;
  DWORD priv_len = sizeof(privileges), granted = 0, err;
  BOOL status = FALSE;
  WCHAR* wide = capsid__utf16(canon);

  if (wide == NULL) {
    c->os_error = ERROR_NOT_ENOUGH_MEMORY;
    c->why = "out of memory";
    return -1;
  }
  err = GetNamedSecurityInfoW(wide, SE_FILE_OBJECT,
                              OWNER_SECURITY_INFORMATION |
                                  GROUP_SECURITY_INFORMATION |
                                  DACL_SECURITY_INFORMATION |
                                  LABEL_SECURITY_INFORMATION,
                              &owner, NULL, NULL, NULL, &sd);
  capsid__free(wide);
  if (err != ERROR_SUCCESS) {
    c->os_error = (int)err;
    c->why = "its security descriptor cannot be read";
    return -1;
  }
  MapGenericMask(&want, &mapping);
  if (!AccessCheck(sd, c->token, want, &mapping, &privileges, &priv_len,
                   &granted, &status)) {
    c->os_error = (int)GetLastError();
    c->why = "the access check failed";
  } else if (!status) {
    c->os_error = ERROR_ACCESS_DENIED;
    c->why = want & FILE_WRITE_DATA ? "the client may not write it"
                                    : "the client may not read it";
  } else if (want_owner && (owner == NULL || !EqualSid(owner, c->user))) {
    c->os_error = ERROR_ACCESS_DENIED;
    c->why = "it is not owned by the client (another user's job may "
             "write only its own directories)";
    status = FALSE;
  }
  LocalFree(sd);
  return status ? 0 : -1;
}


/* The canonical path of given (relative to base when not absolute),
 * resolved as the client. Returns 0, 1 for a path that does not exist
 * (when missing_ok), or -1 with c->why set. */
static int resolve_as_client(check_t* c, const char* base, const char* given,
                             char** canon) {
  int rc, os_error = 0, is_dir;

  if (!SetThreadToken(NULL, c->token)) {
    c->os_error = (int)GetLastError();
    c->why = "the client's token cannot be taken";
    return -1;
  }
  rc = capsid__path_canonical(base, given, canon, &os_error);
  is_dir = rc == 0 ? capsid__path_is_dir(*canon, &os_error) : 0;
  serve__win_revert();
  if (rc != 0) {
    if (c->missing_ok && (os_error == ERROR_FILE_NOT_FOUND ||
                          os_error == ERROR_PATH_NOT_FOUND))
      return 1;
    c->os_error = os_error;
    c->why = "the client cannot reach it";
    return -1;
  }
  if (is_dir != 1) {
    capsid__free(*canon);
    *canon = NULL;
    if (c->missing_ok)
      return 1; /* the library says what is wrong with it */
    c->os_error = os_error ? os_error : ERROR_DIRECTORY;
    c->why = "it is not a directory";
    return -1;
  }
  return 0;
}


int serve__check_paths(const serve_peer_t* peer, serve_path_t* paths,
                       size_t n, int missing_ok, capsid_error_t* err) {
  TOKEN_USER* user = NULL;
  DWORD len = 0;
  check_t c;
  char who[SECURITY_MAX_SID_SIZE * 4];
  size_t i;
  int rc = 0;

  memset(&c, 0, sizeof(c));
  c.token = (HANDLE)peer->token;
  c.missing_ok = missing_ok;
  serve__win_id_text(peer->uid, who, sizeof(who));
  if (c.token != NULL) {
    GetTokenInformation(c.token, TokenUser, NULL, 0, &len);
    user = len > 0 ? capsid__malloc(len) : NULL;
  }
  if (user == NULL || !GetTokenInformation(c.token, TokenUser, user, len,
                                           &len) ||
      !CopySid(sizeof(c.user_buf), c.user_buf, user->User.Sid)) {
    capsid__free(user);
    return capsid__error_set(err, CAPSID_EPERM, CAPSID_STAGE_IDENTITY,
                             c.token != NULL ? (int)GetLastError() : 0,
                             NULL, NULL,
                             "cannot read the client's token (%s) to check "
                             "its paths",
                             who);
  }
  capsid__free(user);
  c.user = (PSID)c.user_buf;
  for (i = 0; i < n; i++) {
    serve_path_t* p = &paths[i];
    /* A relative root is relative to the job's cwd (checked first), as
     * policy resolution takes it. */
    const char* base = i > 0 ? paths[0].canon : NULL;
    if (!capsid__path_is_absolute_written(p->given) && base == NULL) {
      c.why = "it is relative and the cwd is not known";
      rc = -1;
      break;
    }
    rc = resolve_as_client(&c, base, p->given, &p->canon);
    if (rc == 1) {
      rc = 0;
      continue;
    }
    if (rc == 0)
      rc = client_access(&c, p->canon,
                         (p->want_write ? FILE_GENERIC_WRITE
                                        : FILE_GENERIC_READ) |
                             FILE_TRAVERSE,
                         p->want_owner);
    if (rc != 0)
      break;
  }
  if (rc == 0)
    return 0;
  return capsid__error_set(err, CAPSID_EPERM, CAPSID_STAGE_POLICY,
                           c.os_error, paths[i].given, paths[i].field,
                           "%s \"%s\" is refused: %s (checked as %s)",
                           paths[i].field, paths[i].given, c.why, who);
}
