/* Creating a job's process on Windows from a launch: the command line
 * and environment block it is given (spawn_prepare), and the one
 * CreateProcessAsUserW call (create_process) that both the unprivileged
 * launcher (launch-win.c, with capsid's restricted token) and the
 * elevated mode's runner (runner-win.c, with the sandbox user's) use.
 *
 * The process is created suspended, placed in its job object from its
 * first instruction where Windows supports PROC_THREAD_ATTRIBUTE_JOB_LIST,
 * and receives only its three stdio handles
 * (PROC_THREAD_ATTRIBUTE_HANDLE_LIST). The caller resumes it. */
#include "spawn-win.h"

#include "fault.h"
#include "win-util.h"

#include <stdlib.h>
#include <string.h>

/* ---- command line and environment ---- */

/* Appends arg quoted the way CommandLineToArgvW and the C runtime split
 * it: backslashes are literal except before a quote. */
static int quote_arg(capsid__buf_t* b, const char* arg) {
  const char* c;
  size_t slashes = 0, k;
  int rc = 0;

  if (*arg != '\0' && strpbrk(arg, " \t\n\v\"") == NULL)
    return capsid__buf_append(b, arg, strlen(arg));
  rc |= capsid__buf_append(b, "\"", 1);
  for (c = arg; *c != '\0'; c++) {
    if (*c == '\\') {
      slashes++;
      continue;
    }
    /* Before a quote, each backslash is doubled and the quote escaped. */
    for (k = 0; k < (*c == '"' ? slashes * 2 + 1 : slashes); k++)
      rc |= capsid__buf_append(b, "\\", 1);
    slashes = 0;
    rc |= capsid__buf_append(b, c, 1);
  }
  /* Before the closing quote, too. */
  for (k = 0; k < slashes * 2; k++)
    rc |= capsid__buf_append(b, "\\", 1);
  rc |= capsid__buf_append(b, "\"", 1);
  return rc;
}


static int ends_with_ci(const char* s, const char* suffix) {
  size_t n = strlen(s), m = strlen(suffix);

  return n >= m && _stricmp(s + n - m, suffix) == 0;
}


/* A batch file's arguments are parsed twice: by cmd.exe, which expands
 * %VAR% (and !VAR! with delayed expansion) even inside quotes and ends a
 * quoted string at any '"', and then by the script. The C runtime's
 * escaping (\") means nothing to cmd.exe, so an argument with a quote can
 * end the quoting and run a command of its own ("BatBadBut",
 * CVE-2024-24576 and its siblings). capsid quotes every argument whole,
 * where cmd.exe's metacharacters (& | < > ^ ( ) , ; =) are literal, runs
 * cmd.exe with /v:off so '!' is literal too, and refuses what no quoting
 * makes literal: '"', '%', CR and LF. Returns the index of the first
 * such argument (the path is 0), or -1. */
static int batch_unsafe(const capsid__launch_t* l) {
  size_t i;

  for (i = 0; i == 0 || l->argv[i] != NULL; i++)
    if (strpbrk(i == 0 ? l->path : l->argv[i], "\"%\r\n") != NULL)
      return (int)i;
  return -1;
}


/* Appends arg for cmd.exe: whole in double quotes, unchanged inside
 * (batch_unsafe let no quote or percent sign through). */
static int quote_batch_arg(capsid__buf_t* b, const char* arg) {
  int rc = capsid__buf_append(b, "\"", 1);

  rc |= capsid__buf_append(b, arg, strlen(arg));
  return rc | capsid__buf_append(b, "\"", 1);
}


/* The application and command line. Batch files run through cmd.exe,
 * which CreateProcess does not do by itself. */
static int build_cmdline(const capsid__launch_t* l, WCHAR** app,
                         WCHAR** cmdline) {
  capsid__buf_t b = {0};
  char* app8;
  size_t i;
  int rc = 0, batch;
  char nul = '\0';

  batch = capsid__spawn_is_batch(l->path);
  if (batch) {
    const char* comspec = getenv("ComSpec");
    app8 = capsid__strdup(comspec ? comspec : "C:\\Windows\\System32\\cmd.exe");
    static const char pre[] = "cmd.exe /d /v:off /s /c \"";
    rc |= capsid__buf_append(&b, pre, sizeof(pre) - 1);
  } else {
    app8 = capsid__strdup(l->path);
  }
  for (i = 0; l->argv[i] != NULL; i++) {
    if (i > 0)
      rc |= capsid__buf_append(&b, " ", 1);
    if (batch)
      rc |= quote_batch_arg(&b, i == 0 ? l->path : l->argv[i]);
    else
      rc |= quote_arg(&b, i == 0 ? l->path : l->argv[i]);
  }
  if (batch)
    rc |= capsid__buf_append(&b, "\"", 1);
  rc |= capsid__buf_append(&b, &nul, 1);
  if (rc != 0 || app8 == NULL) {
    capsid__free(app8);
    capsid__buf_free(&b);
    return CAPSID_ENOMEM;
  }
  for (i = 0; app8[i] != '\0'; i++)
    if (app8[i] == '/')
      app8[i] = '\\';
  *app = capsid__utf16(app8);
  *cmdline = capsid__utf16(b.data);
  capsid__free(app8);
  capsid__buf_free(&b);
  return *app && *cmdline ? 0 : CAPSID_ENOMEM;
}


int capsid__spawn_is_batch(const char* path) {
  return ends_with_ci(path, ".bat") || ends_with_ci(path, ".cmd");
}


/* Offline jobs in unprivileged mode: Windows has no per-process network
 * switch without the elevated set-up (a firewall rule scoped to the
 * offline user), so these variables only steer well-behaved tools to a
 * dead proxy (the discard port) and into offline modes, as Codex's legacy
 * mode does. Defence in depth, NOT enforcement; docs/windows.md says so.
 * A variable the job already sets is left alone. */
static const char* const offline_env[] = {
    "CAPSID_NETWORK=off",
    "HTTP_PROXY=http://127.0.0.1:9",
    "HTTPS_PROXY=http://127.0.0.1:9",
    "ALL_PROXY=http://127.0.0.1:9",
    "GIT_HTTP_PROXY=http://127.0.0.1:9",
    "GIT_HTTPS_PROXY=http://127.0.0.1:9",
    "NO_PROXY=localhost,127.0.0.1,::1",
    "PIP_NO_INDEX=1",
    "NPM_CONFIG_OFFLINE=true",
    "CARGO_NET_OFFLINE=true",
    "GIT_SSH_COMMAND=cmd /c exit 1",
};


/* Is the variable of entry (NAME=...) set in envp? Windows compares
 * variable names without case. */
static int env_has(char* const* envp, const char* entry) {
  size_t n = strcspn(entry, "=");
  size_t i;

  for (i = 0; envp[i] != NULL; i++)
    if (_strnicmp(envp[i], entry, n) == 0 && envp[i][n] == '=')
      return 1;
  return 0;
}


static int env_push(capsid__buf_t* b, const char* entry) {
  WCHAR* w = capsid__utf16(entry);
  int rc;

  if (w == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__buf_append(b, w, (wcslen(w) + 1) * sizeof(WCHAR));
  capsid__free(w);
  return rc;
}


/* "A=1\0B=2\0\0" in UTF-16. SystemRoot is added from capsid's own
 * environment when the job's lacks it: Winsock and many system DLLs fail
 * to load without it. */
static WCHAR* build_env(char* const* envp, int offline) {
  capsid__buf_t b = {0};
  int rc = 0;
  size_t i;
  WCHAR nul = 0;

  for (i = 0; envp[i] != NULL; i++)
    rc |= env_push(&b, envp[i]);
  if (!env_has(envp, "SystemRoot=") && getenv("SystemRoot") != NULL) {
    char* e = capsid__sprintf("SystemRoot=%s", getenv("SystemRoot"));
    rc |= e ? env_push(&b, e) : CAPSID_ENOMEM;
    capsid__free(e);
  }
  for (i = 0; offline && i < CAPSID__ARRAY_SIZE(offline_env); i++)
    if (!env_has(envp, offline_env[i]))
      rc |= env_push(&b, offline_env[i]);
  /* The block ends with an empty string; an empty block still needs both
   * terminators. */
  if (b.len == 0)
    rc |= capsid__buf_append(&b, &nul, sizeof(nul));
  rc |= capsid__buf_append(&b, &nul, sizeof(nul));
  if (rc != 0) {
    capsid__buf_free(&b);
    return NULL;
  }
  return (WCHAR*)b.data;
}


int capsid__spawn_prepare(const capsid__launch_t* l, capsid__spawn_t* s,
                          capsid_error_t* err) {
  char* cwd8;
  size_t i;
  int bad;

  memset(s, 0, sizeof(*s));
  s->path = l->path;
  s->cwd8 = l->cwd;
  if (capsid__spawn_is_batch(l->path) && (bad = batch_unsafe(l)) >= 0)
    return capsid__error_set(
        err, CAPSID_EINVAL, CAPSID_STAGE_EXEC, 0, l->path, "argv",
        "argument %d of the batch file %s holds a quote, a percent sign or "
        "a line break, which cmd.exe would interpret: run it through a "
        "program that is not a batch file", bad, l->path);
  if (build_cmdline(l, &s->app, &s->cmdline) != 0 ||
      (s->env = build_env(l->envp, !l->sandbox->network)) == NULL ||
      (cwd8 = capsid__strdup(l->cwd)) == NULL) {
    capsid__spawn_free(s);
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN, 0, NULL,
                             NULL, NULL);
  }
  for (i = 0; cwd8[i] != '\0'; i++)
    if (cwd8[i] == '/')
      cwd8[i] = '\\';
  s->cwd = capsid__utf16(cwd8);
  capsid__free(cwd8);
  if (s->cwd == NULL) {
    capsid__spawn_free(s);
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN, 0, NULL,
                             NULL, NULL);
  }
  return 0;
}


size_t capsid__env_block_size(const WCHAR* env) {
  const WCHAR* p = env;

  /* Entries end with one NUL, the block with a second; an empty block is
   * two NULs. */
  do
    p += wcslen(p) + 1;
  while (*p != 0);
  return (size_t)(p + 1 - env) * sizeof(WCHAR);
}


void capsid__spawn_free(capsid__spawn_t* s) {
  capsid__free(s->app);
  capsid__free(s->cmdline);
  capsid__free(s->env);
  capsid__free(s->cwd);
  memset(s, 0, sizeof(*s));
}


HANDLE capsid__inheritable(HANDLE h) {
  HANDLE dup = NULL;

  if (h == NULL || h == INVALID_HANDLE_VALUE ||
      !DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0,
                       TRUE, DUPLICATE_SAME_ACCESS))
    return NULL;
  return dup;
}


static int create_error(const capsid__spawn_t* s, DWORD os_error,
                        capsid_error_t* err) {
  if (os_error == ERROR_DIRECTORY)
    return capsid__error_set(err, CAPSID_ENOTDIR, CAPSID_STAGE_CHDIR,
                             (int)os_error, s->cwd8, "cwd", NULL);
  if (os_error == ERROR_FILE_NOT_FOUND || os_error == ERROR_PATH_NOT_FOUND)
    return capsid__error_set(err, CAPSID_ENOTFOUND, CAPSID_STAGE_EXEC,
                             (int)os_error, s->path, "argv[0]", NULL);
  if (os_error == ERROR_BAD_EXE_FORMAT)
    return capsid__error_set(err, CAPSID_ENOEXEC, CAPSID_STAGE_EXEC,
                             (int)os_error, s->path, "argv[0]", NULL);
  return capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_SPAWN,
                           (int)os_error, s->path, NULL,
                           "CreateProcessAsUserW failed");
}


int capsid__create_process(HANDLE token, const capsid__spawn_t* s,
                           HANDLE stdio[3], HANDLE job,
                           PROCESS_INFORMATION* pi, capsid_error_t* err) {
  STARTUPINFOEXW si;
  WCHAR desktop[] = L"winsta0\\default";
  SIZE_T attr_size = 0;
  DWORD os_error = 0;
  int rc = 0, in_job_list = 0, fault;
  BOOL in_job = FALSE;

  memset(pi, 0, sizeof(*pi));
  memset(&si, 0, sizeof(si));
  si.StartupInfo.cb = sizeof(si);
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = stdio[0];
  si.StartupInfo.hStdOutput = stdio[1];
  si.StartupInfo.hStdError = stdio[2];
  /* An explicit desktop (the job's own, desktop-win.h, or the default):
   * without one PowerShell failed with STATUS_DLL_INIT_FAILED under a
   * restricted token (Codex). */
  si.StartupInfo.lpDesktop = s->desktop ? s->desktop : desktop;

  InitializeProcThreadAttributeList(NULL, 2, 0, &attr_size);
  si.lpAttributeList = capsid__malloc(attr_size);
  if (si.lpAttributeList == NULL ||
      !InitializeProcThreadAttributeList(si.lpAttributeList, 2, 0,
                                         &attr_size)) {
    capsid__free(si.lpAttributeList);
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_SPAWN,
                             (int)GetLastError(), NULL, NULL, NULL);
  }
  /* Only these three handles reach the child, whatever else capsid (or a
   * thread of the embedding program) has made inheritable. */
  if (!UpdateProcThreadAttribute(si.lpAttributeList, 0,
                                 PROC_THREAD_ATTRIBUTE_HANDLE_LIST, stdio,
                                 3 * sizeof(HANDLE), NULL, NULL)) {
    rc = capsid__error_set(err, CAPSID_ESPAWN, CAPSID_STAGE_SPAWN,
                           (int)GetLastError(), NULL, NULL,
                           "cannot restrict the inherited handles");
    goto out;
  }
  /* Windows 10+: the child is in the job from its first instruction.
   * Where the attribute is unknown, CREATE_SUSPENDED plus
   * AssignProcessToJobObject below gives the same guarantee. Without a
   * job (the runner) the child inherits the runner's. */
  if (job != NULL)
    in_job_list = UpdateProcThreadAttribute(si.lpAttributeList, 0,
                                            PROC_THREAD_ATTRIBUTE_JOB_LIST,
                                            &job, sizeof(job), NULL, NULL);
  /* CREATE_NO_WINDOW rather than DETACHED_PROCESS: a console program
   * started detached has no console at all (console APIs fail, and a
   * console child it starts opens a visible console window of its own);
   * with CREATE_NO_WINDOW it has a console without a window. */
  fault = capsid__fault("spawn");
  if (fault ||
      !CreateProcessAsUserW(token, s->app, s->cmdline, NULL, NULL, TRUE,
                            CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT |
                                EXTENDED_STARTUPINFO_PRESENT |
                                CREATE_NO_WINDOW,
                            s->env, s->cwd, &si.StartupInfo, pi)) {
    os_error = fault ? (DWORD)fault : GetLastError();
    rc = create_error(s, os_error, err);
    memset(pi, 0, sizeof(*pi));
    goto out;
  }
  if (!IsProcessInJob(pi->hProcess, job, &in_job) || !in_job) {
    if (job == NULL || in_job_list ||
        !AssignProcessToJobObject(job, pi->hProcess)) {
      os_error = GetLastError();
      TerminateProcess(pi->hProcess, CAPSID__KILL_EXIT_CODE);
      CloseHandle(pi->hThread);
      CloseHandle(pi->hProcess);
      memset(pi, 0, sizeof(*pi));
      rc = capsid__error_set(err, CAPSID_ELIMIT, CAPSID_STAGE_LIMITS,
                             (int)os_error, NULL, NULL,
                             "the process could not be put in its job "
                             "object");
    }
  }

out:
  DeleteProcThreadAttributeList(si.lpAttributeList);
  capsid__free(si.lpAttributeList);
  return rc;
}
