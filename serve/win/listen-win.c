/* The named pipe a Windows server listens on: \\.\pipe\capsid-<user> by
 * default, its DACL the server's user and the allowed accounts only.
 *
 * libuv creates the pipe's instances itself (uv_pipe_bind, and one more
 * after each accept) with a default security descriptor and no
 * PIPE_REJECT_REMOTE_CLIENTS, and takes no descriptor of ours. It opens
 * them with WRITE_DAC, as its own uv_pipe_chmod does, so the DACL is set
 * right after creation on the first instance: a named pipe's security
 * descriptor belongs to the pipe, not to an instance, so the instances
 * libuv adds later carry it too. Remote clients are kept out by the DACL
 * (a deny ACE for NETWORK, which every network logon carries, ahead of
 * everything) and again by serve__peer_of, which refuses a token with
 * NETWORK in it. A client that connects in the moment between creation
 * and the DACL still meets serve__peer_of and serve__peer_allowed: the
 * DACL decides who may open the pipe, the token who is served. */
#include "serve-win.h"

#include "win-util.h"

#include <aclapi.h>
#include <stdio.h>
#include <string.h>

#define PIPE_PREFIX "\\\\.\\pipe\\"


char* serve_pipe_path(const char* addr) {
  if (strncmp(addr, "pipe:", 5) == 0)
    addr += 5;
  if (strncmp(addr, PIPE_PREFIX, strlen(PIPE_PREFIX)) == 0)
    addr += strlen(PIPE_PREFIX);
  /* A pipe's name may hold anything but a backslash; a '/' or ':' says
   * this is a file path, meant for a Unix socket. */
  if (addr[0] == '\0' || strpbrk(addr, "\\/:") != NULL)
    return NULL;
  return capsid__sprintf("%s%s", PIPE_PREFIX, addr);
}


char* serve_default_socket(void) {
  WCHAR name[257];
  DWORD len = CAPSID__ARRAY_SIZE(name);
  char* user;
  char* path;

  if (!GetUserNameW(name, &len))
    return NULL;
  user = capsid__utf8(name);
  path = user != NULL ? capsid__sprintf("%scapsid-%s", PIPE_PREFIX, user)
                      : NULL;
  capsid__free(user);
  return path;
}


int serve_activation_fd(void) {
  return -1; /* no socket activation on Windows */
}


static int add_ace(ACL* acl, int allow, DWORD mask, PSID sid) {
  if (sid == NULL)
    return -1;
  return (allow ? AddAccessAllowedAce(acl, ACL_REVISION, mask, sid)
                : AddAccessDeniedAce(acl, ACL_REVISION, mask, sid))
             ? 0
             : -1;
}


/* Deny NETWORK everything; the server's user full control (it creates
 * the further instances); each allowed user and group read and write of
 * requests, never FILE_CREATE_PIPE_INSTANCE. Caller frees. */
static ACL* pipe_dacl(const serve_t* srv) {
  BYTE network[SECURITY_MAX_SID_SIZE];
  DWORD network_len = sizeof(network), size;
  size_t i, n = 2 + srv->opt.n_allow_uids + srv->opt.n_allow_gids;
  ACL* acl;
  int rc;

  if (!CreateWellKnownSid(WinNetworkSid, NULL, network, &network_len))
    return NULL;
  size = (DWORD)(sizeof(ACL) +
                 n * (sizeof(ACCESS_ALLOWED_ACE) + SECURITY_MAX_SID_SIZE));
  acl = capsid__calloc(1, size);
  if (acl == NULL || !InitializeAcl(acl, size, ACL_REVISION)) {
    capsid__free(acl);
    return NULL;
  }
  rc = add_ace(acl, 0, FILE_ALL_ACCESS, network);
  if (rc == 0)
    rc = add_ace(acl, 1, FILE_ALL_ACCESS, serve__win_id_sid(srv->self_uid));
  for (i = 0; rc == 0 && i < srv->opt.n_allow_uids; i++)
    rc = add_ace(acl, 1, SERVE_PIPE_CLIENT_ACCESS,
                 serve__win_id_sid(srv->opt.allow_uids[i]));
  for (i = 0; rc == 0 && i < srv->opt.n_allow_gids; i++)
    rc = add_ace(acl, 1, SERVE_PIPE_CLIENT_ACCESS,
                 serve__win_id_sid(srv->opt.allow_gids[i]));
  if (rc != 0) {
    capsid__free(acl);
    return NULL;
  }
  return acl;
}


/* Sets the pipe's DACL (protected: nothing inherited) through the
 * instance libuv just created. */
static int restrict_pipe(serve_t* srv) {
  uv_os_fd_t fd;
  ACL* acl = pipe_dacl(srv);
  DWORD err;

  if (acl == NULL || uv_fileno((uv_handle_t*)&srv->listener, &fd) != 0) {
    capsid__free(acl);
    return (int)ERROR_INVALID_HANDLE;
  }
  err = SetSecurityInfo((HANDLE)fd, SE_KERNEL_OBJECT,
                        DACL_SECURITY_INFORMATION |
                            PROTECTED_DACL_SECURITY_INFORMATION,
                        NULL, NULL, acl, NULL);
  capsid__free(acl);
  return (int)err;
}


int serve__listen(serve_t* srv, const char* path, int mode) {
  char msg[256];
  char* name;
  int rc;

  if (mode >= 0) {
    fprintf(stderr, "capsid serve: --socket-mode is for a Unix socket; who "
            "may open the named pipe is its DACL: the server's user and "
            "--allow-user/--allow-group\n");
    return CAPSID_EINVAL;
  }
  name = path != NULL ? serve_pipe_path(path) : NULL;
  if (name == NULL) {
    fprintf(stderr, "capsid serve: --socket \"%s\" is not a named pipe "
            "(pipe:NAME or \\\\.\\pipe\\NAME)\n", path ? path : "");
    return CAPSID_EINVAL;
  }
  rc = uv_pipe_bind(&srv->listener, name);
  if (rc != 0) {
    fprintf(stderr, "capsid serve: cannot listen on %s: %s\n", name,
            rc == UV_EADDRINUSE ? "a server answers on it"
                                : uv_strerror(rc));
    capsid__free(name);
    return rc == UV_EADDRINUSE ? CAPSID_EEXIST : CAPSID_EIO;
  }
  rc = restrict_pipe(srv);
  if (rc != 0) {
    /* Fail closed: never listen with the default descriptor. */
    fprintf(stderr, "capsid serve: cannot set the DACL of %s: %s\n", name,
            capsid__os_strerror(rc, msg, sizeof(msg)));
    capsid__free(name);
    return CAPSID_EIO;
  }
  /* For the log line; removing it at exit fails harmlessly (a pipe is
   * gone with its last handle). */
  srv->socket_path = name;
  return 0;
}
