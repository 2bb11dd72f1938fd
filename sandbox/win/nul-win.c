/* Write access to \\.\NUL for a job's capability SIDs.
 *
 * Why: a WRITE_RESTRICTED token passes a write access check only where
 * the DACL also grants one of its restricting SIDs, and the NUL device's
 * DACL names none of capsid's capability SIDs, so `cmd /c echo x > NUL`
 * or a program opening NUL for writing may be refused inside a job.
 * Codex's sandbox does what is done here (allow_null_device): open the
 * device with READ_CONTROL | WRITE_DAC and add an allow ACE (read, write,
 * execute; no inheritance) for each capability SID to the DACL of the
 * kernel object (SE_KERNEL_OBJECT).
 *
 * What this cannot do: Windows gives WRITE_DAC on the device to SYSTEM
 * and administrators only, and rebuilds its DACL at every boot (so say
 * the public reports of those who grant AppContainers NUL; not checked
 * on a Windows machine here). A capsid
 * run by a standard user cannot grant anything (CAPSID_EACCES; the job
 * still runs: a missing grant makes it more confined, never less), one
 * run by an administrator grants until the next boot. The DACL is read
 * back after the write, like every grant (CAPSID_EVERIFY when Windows
 * did not store it). Always the exact name \\.\NUL: a spelling Windows
 * takes for a UNC path ("\\NUL\") goes to the network redirector (Codex
 * users saw 15 s per command). */
#include "nul-win.h"
#include "grant-win.h"

#include "win-dacl.h"

#include <aclapi.h>
#include <sddl.h>

#include <string.h>

#define NUL_PATH L"\\\\.\\NUL"
#define NUL_NAME "\\\\.\\NUL"

/* Does acl let sid read and write (an allow ACE that applies to the
 * object itself, generic rights mapped)? A NULL DACL grants everything. */
static int nul_granted(const ACL* acl, PSID sid) {
  GENERIC_MAPPING map = {FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                         FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
  DWORD i, mask;
  void* ace;

  if (acl == NULL)
    return 1;
  for (i = 0; i < acl->AceCount; i++) {
    const ACE_HEADER* h;
    if (!GetAce((ACL*)acl, i, &ace))
      continue;
    h = ace;
    if (h->AceType != ACCESS_ALLOWED_ACE_TYPE ||
        (h->AceFlags & INHERIT_ONLY_ACE))
      continue;
    mask = ((const ACCESS_ALLOWED_ACE*)h)->Mask;
    MapGenericMask(&mask, &map);
    if ((mask & CAPSID__NUL_MASK) == CAPSID__NUL_MASK &&
        EqualSid(capsid__ace_sid(h), sid))
      return 1;
  }
  return 0;
}


/* Reads the DACL of the device through h. *sd is LocalFree'd by the
 * caller. */
static DWORD nul_read(HANDLE h, ACL** dacl, PSECURITY_DESCRIPTOR* sd) {
  *dacl = NULL;
  *sd = NULL;
  return GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION,
                         NULL, NULL, dacl, NULL, sd);
}


/* Opens the device to change its DACL, else only to read it. */
static HANDLE nul_open(int* can_write, DWORD* os_error) {
  HANDLE h = CreateFileW(NUL_PATH, READ_CONTROL | WRITE_DAC,
                         FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                         OPEN_EXISTING, 0, NULL);

  *can_write = h != INVALID_HANDLE_VALUE;
  *os_error = 0;
  if (h == INVALID_HANDLE_VALUE) {
    *os_error = GetLastError();
    h = CreateFileW(NUL_PATH, READ_CONTROL,
                    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    0, NULL);
    if (h == INVALID_HANDLE_VALUE)
      *os_error = GetLastError();
  }
  return h;
}


int capsid__nul_grant(const capsid__token_plan_t* plan, capsid_error_t* err) {
  PSID sids[CAPSID__MAX_RESTRICT];
  capsid__ace_t add[CAPSID__MAX_RESTRICT];
  const char* missing[CAPSID__MAX_RESTRICT];
  PSECURITY_DESCRIPTOR sd = NULL;
  ACL* dacl = NULL;
  ACL* neu = NULL;
  HANDLE h;
  DWORD e, open_error;
  size_t i, n = 0, n_add = 0;
  int can_write, rc = 0;

  for (i = 0; i < plan->n && i < CAPSID__MAX_RESTRICT; i++, n++)
    if (!ConvertStringSidToSidA(plan->sids[i], &sids[i])) {
      rc = capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL, 0,
                             NUL_NAME, NULL, "%s is not a SID",
                             plan->sids[i]);
      goto out;
    }
  h = nul_open(&can_write, &open_error);
  if (h == INVALID_HANDLE_VALUE) {
    rc = capsid__error_set(err, capsid__translate_os_error((int)open_error),
                           CAPSID_STAGE_ACL, (int)open_error, NUL_NAME, NULL,
                           "cannot open %s", NUL_NAME);
    goto out;
  }
  e = nul_read(h, &dacl, &sd);
  for (i = 0; e == ERROR_SUCCESS && i < n; i++)
    if (!nul_granted(dacl, sids[i])) {
      missing[n_add] = plan->sids[i];
      add[n_add].sid = sids[i];
      add[n_add].mask = CAPSID__NUL_MASK;
      add[n_add].flags = 0;
      add[n_add].deny = 0;
      n_add++;
    }
  if (e != ERROR_SUCCESS) {
    rc = capsid__error_set(err, capsid__translate_os_error((int)e),
                           CAPSID_STAGE_ACL, (int)e, NUL_NAME, NULL,
                           "cannot read the DACL of %s", NUL_NAME);
  } else if (n_add > 0 && !can_write) {
    rc = capsid__error_set(err, CAPSID_EACCES, CAPSID_STAGE_ACL,
                           (int)open_error, NUL_NAME, NULL,
                           "cannot grant %s write on %s: changing its DACL "
                           "needs an administrator",
                           missing[0], NUL_NAME);
  } else if (n_add > 0) {
    rc = capsid__dacl_rebuild(dacl, add, n_add, NULL, NULL, &neu);
    if (rc == 0)
      e = SetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION,
                          NULL, NULL, neu, NULL);
    if (rc != 0 || e != ERROR_SUCCESS) {
      rc = capsid__error_set(err, rc ? rc : capsid__translate_os_error((int)e),
                             CAPSID_STAGE_ACL, rc ? 0 : (int)e, NUL_NAME,
                             NULL, "cannot set the DACL of %s", NUL_NAME);
    } else {
      /* Read back, as every grant is: a call that succeeded is not
       * proof that the ACE was stored as asked. */
      LocalFree(sd);
      e = nul_read(h, &dacl, &sd);
      for (i = 0; rc == 0 && i < n_add; i++)
        if (e != ERROR_SUCCESS || !nul_granted(dacl, add[i].sid))
          rc = capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY,
                                 (int)e, NUL_NAME, NULL,
                                 "the allow ACE for %s on %s did not take "
                                 "effect",
                                 missing[i], NUL_NAME);
    }
  }
  if (neu != NULL)
    LocalFree(neu);
  if (sd != NULL)
    LocalFree(sd);
  CloseHandle(h);
out:
  for (i = 0; i < n; i++)
    LocalFree(sids[i]);
  return rc;
}


int capsid__nul_strip(const char* domain, capsid__report_cb cb, void* data) {
  PSECURITY_DESCRIPTOR sd = NULL;
  ACL* dacl = NULL;
  ACL* stripped = NULL;
  HANDLE h;
  DWORD e, open_error;
  int can_write, removed = 0, left = 0;

  h = nul_open(&can_write, &open_error);
  if (h == INVALID_HANDLE_VALUE) {
    capsid__say(cb, data, "nul device", 0, "cannot open %s to look (error %lu)",
                NUL_NAME, (unsigned long)open_error);
    return 1;
  }
  e = nul_read(h, &dacl, &sd);
  if (e == ERROR_SUCCESS &&
      capsid__acl_strip(dacl, domain, &stripped, &removed) != 0)
    e = ERROR_NOT_ENOUGH_MEMORY;
  if (e == ERROR_SUCCESS && removed > 0 && can_write) {
    e = SetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL,
                        NULL, stripped, NULL);
    LocalFree(stripped);
    stripped = NULL;
    LocalFree(sd);
    sd = NULL;
    /* Read back: what is still there is what is left. */
    if (e == ERROR_SUCCESS)
      e = nul_read(h, &dacl, &sd);
    if (e == ERROR_SUCCESS &&
        capsid__acl_strip(dacl, domain, &stripped, &left) != 0)
      e = ERROR_NOT_ENOUGH_MEMORY;
  } else {
    left = removed;
  }
  if (stripped != NULL)
    LocalFree(stripped);
  if (sd != NULL)
    LocalFree(sd);
  CloseHandle(h);
  if (e != ERROR_SUCCESS) {
    capsid__say(cb, data, "nul device", 0,
                "cannot read or change the DACL of %s (error %lu)", NUL_NAME,
                (unsigned long)e);
    return 1;
  }
  if (left > 0) {
    capsid__say(cb, data, "nul device", 0,
                "%d ACE(s) of capsid's SIDs stay on %s until the next boot "
                "(removing them needs an administrator)",
                left, NUL_NAME);
    return 1;
  }
  capsid__say(cb, data, "nul device", 1, "%d ACE(s) of capsid's SIDs removed "
              "from %s", removed, NUL_NAME);
  return 0;
}


void capsid__nul_report(capsid__report_cb cb, void* data) {
  HANDLE h;
  DWORD open_error;
  int can_write;

  h = nul_open(&can_write, &open_error);
  if (h != INVALID_HANDLE_VALUE)
    CloseHandle(h);
  if (can_write)
    capsid__say(cb, data, "nul device", 1,
                "jobs' SIDs are granted write on %s before each job (until "
                "the next boot)", NUL_NAME);
  else
    capsid__say(cb, data, "nul device", 0,
                "cannot grant jobs write on %s (changing its DACL needs an "
                "administrator, error %lu): a job's `> NUL` may be refused",
                NUL_NAME, (unsigned long)open_error);
}
