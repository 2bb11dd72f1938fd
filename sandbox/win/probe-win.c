/* `capsid doctor --probe` on Windows (sandbox/system.h): the fixture and
 * the actions, run as jobs by the CLI under each token variant.
 *
 * The fixture lives in %USERPROFILE%\capsid-probe-<pid>: outside %TEMP%
 * (a writable root of every workspace-write job); its Everyone-writable
 * directory, %USERPROFILE%\capsid-probe-<pid>-everyone, is a direct child
 * of a place the Everyone-writable scan covers, so it gets the deny a real
 * one would. Afterwards the workspace's grants are revoked through its
 * record (the deny included) and both directories removed. */
#include "system.h"

#include "acl.h"
#include "env.h"
#include "path.h"
#include "token-win.h"
#include "win-util.h"

#include <aclapi.h>
#include <sddl.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct spec_s {
  const char* name;
  int expect_ok;
  int optional;
  const char* argv[8]; /* "%W" the workspace, "%O" outside, "%E" Everyone */
} spec_t;

#define PS "powershell", "-NoLogo", "-NoProfile", "-NonInteractive", "-Command"

static const spec_t specs[] = {
    {"start cmd", 1, 0, {"cmd", "/d", "/c", "exit 0"}},
    {"powershell", 1, 1, {PS, "exit 0"}},
    {"user32 init (powershell Forms)", 1, 1,
     {PS, "Add-Type -AssemblyName System.Windows.Forms; exit 0"}},
    {"named mutex (powershell)", 1, 1,
     {PS, "$m = New-Object Threading.Mutex($false, 'Local\\capsid-probe'); "
          "exit 0"}},
    {"node", 1, 1, {"node", "-e", "0"}},
    {"git", 1, 1, {"git", "--version"}},
    {"python", 1, 1, {"python", "-c", "0"}},
    {"pipeline a | b", 1, 0, {"cmd", "/d", "/c", "echo x| findstr x"}},
    {"write to NUL", 1, 0, {"cmd", "/d", "/c", "echo x> NUL"}},
    {"write in the workspace", 1, 0,
     {"cmd", "/d", "/c", "echo x> probe.txt"}},
    {"write outside", 0, 0, {"cmd", "/d", "/c", "echo x> \"%O\\new.txt\""}},
    {"delete outside", 0, 0,
     {"cmd", "/d", "/c",
      "del /q \"%O\\keep.txt\" & if exist \"%O\\keep.txt\" (exit 1) else "
      "(exit 0)"}},
    {"WRITE_DAC on .git (icacls)", 0, 0,
     {"icacls", "%W\\.git", "/grant", "*S-1-1-0:F"}},
    {"write into an Everyone-writable dir", 0, 0,
     {"cmd", "/d", "/c", "echo x> \"%E\\new.txt\""}},
    {"alternate data stream outside", 0, 0,
     {"cmd", "/d", "/c", "echo x> \"%O\\keep.txt:ads\""}},
    {".GiT case variant", 0, 0,
     {"cmd", "/d", "/c", "echo x> .GiT\\probe.txt"}},
    /* The job object's UI restrictions (WRITECLIPBOARD): clip.exe cannot
     * open the clipboard. Expected to pass where capsid runs in a job of
     * its own or with CAPSID_WIN_UILIMIT=off (doctor's "job UI
     * restrictions" line says which). */
    {"write the clipboard (clip)", 0, 1,
     {"cmd", "/d", "/c", "echo capsid-probe| clip"}},
};


/* arg with %W, %O and %E replaced by the fixture's native paths. */
static char* expand(const char* arg, const char* w, const char* o,
                    const char* e) {
  capsid__buf_t b = {0};
  const char* c;
  char nul = '\0';
  int rc = 0;

  for (c = arg; *c != '\0'; c++) {
    const char* v = NULL;
    if (c[0] == '%' && (c[1] == 'W' || c[1] == 'O' || c[1] == 'E'))
      v = c[1] == 'W' ? w : c[1] == 'O' ? o : e;
    if (v != NULL) {
      rc |= capsid__buf_append(&b, v, strlen(v));
      c++;
    } else {
      rc |= capsid__buf_append(&b, c, 1);
    }
  }
  rc |= capsid__buf_append(&b, &nul, 1);
  if (rc != 0) {
    capsid__buf_free(&b);
    return NULL;
  }
  return b.data;
}


static char* native(const char* path) {
  char* n = capsid__strdup(path);
  char* c;

  for (c = n; c != NULL && *c != '\0'; c++)
    if (*c == '/')
      *c = '\\';
  return n;
}


static int make_dir(const char* path) {
  WCHAR* w = capsid__utf16(path);
  int ok = w != NULL && CreateDirectoryW(w, NULL);

  capsid__free(w);
  return ok ? 0 : -1;
}


static int make_file(const char* path) {
  WCHAR* w = capsid__utf16(path);
  HANDLE h = w ? CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_NEW,
                             FILE_ATTRIBUTE_NORMAL, NULL)
               : INVALID_HANDLE_VALUE;

  capsid__free(w);
  if (h == INVALID_HANDLE_VALUE)
    return -1;
  CloseHandle(h);
  return 0;
}


/* Everyone: full control, inherited; the owner keeps its own access. */
static int everyone_writable(const char* path) {
  PACL acl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  WCHAR* w = capsid__utf16(path);
  DWORD e = ERROR_NOT_ENOUGH_MEMORY;

  if (w != NULL &&
      ConvertStringSecurityDescriptorToSecurityDescriptorW(
          L"D:(A;OICI;FA;;;WD)(A;OICI;FA;;;OW)", SDDL_REVISION_1, &sd,
          NULL)) {
    BOOL present = FALSE, defaulted = FALSE;
    if (GetSecurityDescriptorDacl(sd, &present, &acl, &defaulted))
      e = SetNamedSecurityInfoW(w, SE_FILE_OBJECT,
                                DACL_SECURITY_INFORMATION, NULL, NULL, acl,
                                NULL);
  }
  LocalFree(sd);
  capsid__free(w);
  return e == ERROR_SUCCESS ? 0 : -1;
}


static int fill_cases(capsid__probe_t* p) {
  char* w = native(p->workspace);
  char* o = capsid__sprintf("%s\\outside", p->dir);
  char* e = native(p->everyone);
  size_t i, j;
  int rc = 0;

  p->cases = capsid__calloc(CAPSID__ARRAY_SIZE(specs), sizeof(*p->cases));
  if (w == NULL || o == NULL || e == NULL || p->cases == NULL)
    rc = CAPSID_ENOMEM;
  for (i = 0; o != NULL && o[i] != '\0'; i++)
    if (o[i] == '/')
      o[i] = '\\';
  for (i = 0; rc == 0 && i < CAPSID__ARRAY_SIZE(specs); i++) {
    capsid__probe_case_t* c = &p->cases[i];
    c->name = specs[i].name;
    c->expect_ok = specs[i].expect_ok;
    c->optional = specs[i].optional;
    c->argv = capsid__calloc(CAPSID__ARRAY_SIZE(specs[i].argv) + 1,
                             sizeof(char*));
    p->n++;
    if (c->argv == NULL) {
      rc = CAPSID_ENOMEM;
      break;
    }
    for (j = 0; specs[i].argv[j] != NULL; j++)
      if ((c->argv[j] = expand(specs[i].argv[j], w, o, e)) == NULL)
        rc = CAPSID_ENOMEM;
  }
  capsid__free(w);
  capsid__free(o);
  capsid__free(e);
  return rc;
}


int capsid__probe_make(capsid__probe_t* p, capsid_error_t* err) {
  const char* home = getenv("USERPROFILE");
  char* git = NULL;
  char* outside = NULL;
  char* keep = NULL;
  char* canon = NULL;
  int rc = 0, os_error = 0;

  memset(p, 0, sizeof(*p));
  p->n_variants = 2;
  if (home == NULL)
    return capsid__error_set(err, CAPSID_ENOENT, CAPSID_STAGE_POLICY, 0,
                             NULL, "USERPROFILE",
                             "no %%USERPROFILE%% to put the probe's "
                             "directories in");
  rc = capsid__path_canonical(NULL, home, &canon, &os_error);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_POLICY, os_error, home,
                             "USERPROFILE", "cannot resolve %s", home);
  p->dir = capsid__sprintf("%s/capsid-probe-%lu", canon,
                           (unsigned long)GetCurrentProcessId());
  p->workspace = capsid__sprintf("%s/workspace", p->dir ? p->dir : "");
  p->everyone = capsid__sprintf("%s-everyone", p->dir ? p->dir : "");
  capsid__free(canon);
  git = capsid__sprintf("%s/.git", p->workspace ? p->workspace : "");
  outside = capsid__sprintf("%s/outside", p->dir ? p->dir : "");
  keep = capsid__sprintf("%s/keep.txt", outside ? outside : "");
  if (p->dir == NULL || p->workspace == NULL || p->everyone == NULL ||
      git == NULL || outside == NULL || keep == NULL)
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_NONE, 0, NULL,
                           NULL, NULL);
  else if (make_dir(p->dir) != 0 || make_dir(p->workspace) != 0 ||
           make_dir(git) != 0 || make_dir(outside) != 0 ||
           make_file(keep) != 0 || make_dir(p->everyone) != 0 ||
           everyone_writable(p->everyone) != 0)
    rc = capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_NONE,
                           (int)GetLastError(), p->dir, NULL,
                           "cannot make the probe's directories in %s",
                           p->dir);
  else if (fill_cases(p) != 0)
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_NONE, 0, NULL,
                           NULL, NULL);
  capsid__free(git);
  capsid__free(outside);
  capsid__free(keep);
  if (rc != 0)
    capsid__probe_free(p);
  return rc;
}


const char* capsid__probe_variant(const capsid__probe_t* p, int i) {
  capsid__token_variant_t v =
      i == 0 ? CAPSID__TOKEN_DEFAULT : CAPSID__TOKEN_STRICT;

  (void)p;
  /* Read by the job's plan (plan-win.c), in this process. */
  _putenv(v == CAPSID__TOKEN_STRICT ? "CAPSID_WIN_TOKEN=strict"
                                    : "CAPSID_WIN_TOKEN=default");
  return capsid__token_variant_name(v);
}


/* Removes the fixture, files first (nothing in it is deeper than two
 * levels but what the jobs made: probe.txt, new.txt). */
static void remove_tree(const char* dir) {
  WCHAR* w = capsid__utf16(dir);
  WCHAR* pattern = w ? capsid__malloc((wcslen(w) + 3) * sizeof(WCHAR)) : NULL;
  WIN32_FIND_DATAW fd;
  HANDLE h;

  if (pattern == NULL) {
    capsid__free(w);
    return;
  }
  wcscpy(pattern, w);
  wcscat(pattern, L"\\*");
  h = FindFirstFileW(pattern, &fd);
  if (h != INVALID_HANDLE_VALUE) {
    do {
      char* child;
      char* name8;
      if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
        continue;
      name8 = capsid__utf8(fd.cFileName);
      child = name8 ? capsid__sprintf("%s/%s", dir, name8) : NULL;
      if (child != NULL) {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
          remove_tree(child);
        } else {
          WCHAR* wc = capsid__utf16(child);
          if (wc != NULL)
            DeleteFileW(wc);
          capsid__free(wc);
        }
      }
      capsid__free(child);
      capsid__free(name8);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
  }
  RemoveDirectoryW(w);
  capsid__free(pattern);
  capsid__free(w);
}


/* Takes back what the probe's jobs granted (the workspace's record: its
 * roots' ACEs and the Everyone-writable directory's deny). */
static void revoke(const char* workspace) {
  capsid__acl_info_t info;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t stats;
  capsid_error_t err = {0};

  if (capsid__acl_info(capsid__state_dir(), workspace, &info, &err) == 0) {
    if (info.present) {
      memset(&opts, 0, sizeof(opts));
      opts.state_dir = capsid__state_dir();
      (void)capsid__acl_run(CAPSID__ACL_REVOKE, &info.plan, &opts, &stats,
                            &err);
    }
    capsid__acl_info_free(&info);
  }
  capsid__error_free(&err);
}


void capsid__probe_free(capsid__probe_t* p) {
  size_t i, j;

  if (p->workspace != NULL)
    revoke(p->workspace);
  if (p->dir != NULL)
    remove_tree(p->dir);
  if (p->everyone != NULL)
    remove_tree(p->everyone);
  for (i = 0; i < p->n; i++) {
    for (j = 0; p->cases[i].argv != NULL && p->cases[i].argv[j] != NULL; j++)
      capsid__free(p->cases[i].argv[j]);
    capsid__free(p->cases[i].argv);
  }
  capsid__free(p->cases);
  capsid__free(p->dir);
  capsid__free(p->workspace);
  capsid__free(p->everyone);
  memset(p, 0, sizeof(*p));
}
