/* The ACL engine's filesystem backend on Windows: not written yet.
 *
 * The engine's per-object DACL walk (SetFileSecurityW on each object with
 * the same incremental record as Linux) is future work; every entry point
 * answers CAPSID_ENOTSUP, so `capsid acl` and `capsid audit` say "not
 * supported on this system" instead of doing half a job. Jobs do not
 * depend on it: the launcher grants its writable roots itself
 * (sandbox/win/grant-win.c, one propagating SetNamedSecurityInfoW per root
 * the first time, a presence check afterwards). */
#include "acl-int.h"

#include <windows.h>

int capsid__acl_fsplan_new(const capsid__acl_entry_t* set, size_t n_set,
                           const capsid__acl_entry_t* remove,
                           size_t n_remove, int only_if_needed,
                           capsid__acl_fsplan_t** out) {
  (void)set;
  (void)n_set;
  (void)remove;
  (void)n_remove;
  (void)only_if_needed;
  *out = NULL;
  return CAPSID_ENOTSUP;
}


void capsid__acl_fsplan_free(capsid__acl_fsplan_t* p) {
  (void)p;
}


int capsid__acl_fs_apply(const capsid__acl_fsplan_t* p, capsid__acl_dir_t d,
                         const char* name, uint64_t root_mnt, int dry_run,
                         int* os_error) {
  (void)p;
  (void)d;
  (void)name;
  (void)root_mnt;
  (void)dry_run;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_open_root(const char* path, capsid__acl_dir_t* out,
                             capsid__acl_stat_t* st, int* os_error) {
  (void)path;
  (void)st;
  *out = CAPSID__ACL_NO_DIR;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_open_rel(capsid__acl_dir_t root, const char* rel,
                            capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                            int* os_error) {
  (void)root;
  (void)rel;
  (void)st;
  *out = CAPSID__ACL_NO_DIR;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_open_child(capsid__acl_dir_t parent, const char* name,
                              capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                              int* os_error) {
  (void)parent;
  (void)name;
  (void)st;
  *out = CAPSID__ACL_NO_DIR;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_stat_rel(capsid__acl_dir_t root, const char* rel,
                            capsid__acl_stat_t* st, int* os_error) {
  (void)root;
  (void)rel;
  (void)st;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_stat_dir(capsid__acl_dir_t d, capsid__acl_stat_t* st,
                            int* os_error) {
  (void)d;
  (void)st;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


void capsid__acl_fs_close(capsid__acl_dir_t d) {
  (void)d;
}


int capsid__acl_fs_list(capsid__acl_dir_t d, capsid__acl_list_cb cb,
                        void* arg, int* os_error) {
  (void)d;
  (void)cb;
  (void)arg;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_mkdirs(const char* path, int* os_error) {
  (void)path;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_lock(const char* path, int no_wait,
                        capsid__acl_dir_t* out, int* os_error) {
  (void)path;
  (void)no_wait;
  *out = CAPSID__ACL_NO_DIR;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


void capsid__acl_fs_unlock(capsid__acl_dir_t lock) {
  (void)lock;
}


int capsid__acl_fs_write_atomic(const char* path, const void* data,
                                size_t len, int* os_error) {
  (void)path;
  (void)data;
  (void)len;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_read_file(const char* path, capsid__buf_t* out,
                             int* os_error) {
  (void)path;
  (void)out;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_unlink(const char* path, int* os_error) {
  (void)path;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


int capsid__acl_fs_list_names(const char* dir, const char* suffix,
                              capsid__strv_t* out, int* os_error) {
  (void)dir;
  (void)suffix;
  (void)out;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


const char* capsid__acl_fs_audit_entry(capsid__acl_dir_t d, const char* name,
                                       const uint32_t* gids, size_t n_gids,
                                       int* is_dir) {
  (void)d;
  (void)name;
  (void)gids;
  (void)n_gids;
  *is_dir = 0;
  return NULL;
}


int capsid__acl_fs_apply_dir(const capsid__acl_fsplan_t* p,
                             capsid__acl_dir_t d,
                             const capsid__acl_stat_t* st, int dry_run,
                             int* os_error) {
  (void)p;
  (void)d;
  (void)st;
  (void)dry_run;
  *os_error = ERROR_NOT_SUPPORTED;
  return CAPSID_ENOTSUP;
}


void capsid__acl_fs_rmdir(const char* path) {
  (void)path;
}
