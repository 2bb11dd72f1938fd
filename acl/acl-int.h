/* Inside the ACL engine: the record, the walker's op, and the filesystem
 * backend every OS provides (acl/<os>/). */
#ifndef CAPSID_ACL_INT_H
#define CAPSID_ACL_INT_H

#include "acl.h"

#include <stdatomic.h>

/* ------------------------------------------------------------------------ */
/* Filesystem backend (acl/linux/fs-linux.c, acl/linux/posix-acl-linux.c)    */

/* A directory handle: a file descriptor on Linux, a HANDLE on Windows. */
typedef intptr_t capsid__acl_dir_t;
#define CAPSID__ACL_NO_DIR ((capsid__acl_dir_t)-1)

enum {
  CAPSID__ACL_FT_UNKNOWN = 0,
  CAPSID__ACL_FT_DIR,
  CAPSID__ACL_FT_REG,
  CAPSID__ACL_FT_LNK,
  CAPSID__ACL_FT_OTHER /* FIFO, socket, device */
};

typedef struct capsid__acl_stat_s {
  uint64_t dev;
  uint64_t ino;
  int64_t ctime_sec;
  uint32_t ctime_nsec;
  uint32_t mode;
  uint32_t uid, gid; /* POSIX owner (0 on Windows) */
  uint64_t nlink;
  uint64_t mnt; /* the mount it lives on (a bind mount is another one) */
  int type;     /* CAPSID__ACL_FT_* */
} capsid__acl_stat_t;

/* What capsid__acl_fs_apply did. Negative values are CAPSID_E* errors
 * (the OS error is in *os_error). */
enum {
  CAPSID__ACL_R_UNCHANGED = 0,
  CAPSID__ACL_R_CHANGED = 1,
  CAPSID__ACL_R_LINK = 2,    /* a non-directory with more than one link */
  CAPSID__ACL_R_XDEV = 3,    /* on another filesystem */
  CAPSID__ACL_R_SPECIAL = 4, /* symlink, FIFO, socket, device */
  CAPSID__ACL_R_DIR = 5,     /* the child is a directory: walk it instead */
  CAPSID__ACL_R_GONE = 6     /* vanished while we looked */
};

/* Entries to set and entries to remove on every inode of one target,
 * turned into the backend's precomputed form (on Linux the xattr blobs for
 * every mode) before any walker thread starts. */
typedef struct capsid__acl_fsplan_s capsid__acl_fsplan_t;

int capsid__acl_fsplan_new(const capsid__acl_entry_t* set, size_t n_set,
                           const capsid__acl_entry_t* remove,
                           size_t n_remove, int only_if_needed,
                           capsid__acl_fsplan_t** out);
void capsid__acl_fsplan_free(capsid__acl_fsplan_t* p);

/* Makes the ACL of d itself (name NULL) or of its child name (never
 * followed if a symlink) match p. A child is examined with
 * lstat-semantics first: directories, links, special files and other
 * filesystems are reported, not changed. dry_run: answer CHANGED without
 * writing. Thread-safe. */
int capsid__acl_fs_apply(const capsid__acl_fsplan_t* p, capsid__acl_dir_t d,
                         const char* name, uint64_t root_mnt, int dry_run,
                         int* os_error);

/* Reclaim (capsid__acl_reclaim_t, see acl.h): inodes owned by uid go to
 * to_uid:to_gid. Set before any walker thread starts. */
void capsid__acl_fsplan_reclaim(capsid__acl_fsplan_t* p, int mode,
                                uint32_t uid, uint32_t to_uid,
                                uint32_t to_gid);
/* Hands d itself (name NULL) or its child name back when the plan's
 * reclaim asks for it: the inode is opened without following a link and
 * checked again through that handle (owner, one link, same mount) before
 * it changes. Returns 0 (nothing to do), 1 (handed back), 2 (deferred:
 * look again next time) or a CAPSID_E* error. Thread-safe. */
int capsid__acl_fs_reclaim(const capsid__acl_fsplan_t* p,
                           capsid__acl_dir_t d, const char* name,
                           uint64_t root_mnt, int* os_error);

/* The same for directory d, whose stat the caller already has. */
int capsid__acl_fs_apply_dir(const capsid__acl_fsplan_t* p,
                             capsid__acl_dir_t d,
                             const capsid__acl_stat_t* st, int dry_run,
                             int* os_error);

/* Opens a canonical absolute directory without following symlinks. */
int capsid__acl_fs_open_root(const char* path, capsid__acl_dir_t* out,
                             capsid__acl_stat_t* st, int* os_error);
/* Opens rel beneath root, refusing symlinks and other filesystems on the
 * way. rel "" is root itself (a new handle). */
int capsid__acl_fs_open_rel(capsid__acl_dir_t root, const char* rel,
                            capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                            int* os_error);
/* Opens the child directory name of parent, never following a symlink. */
int capsid__acl_fs_open_child(capsid__acl_dir_t parent, const char* name,
                              capsid__acl_dir_t* out, capsid__acl_stat_t* st,
                              int* os_error);
/* lstat of rel beneath root ("" is root). */
int capsid__acl_fs_stat_rel(capsid__acl_dir_t root, const char* rel,
                            capsid__acl_stat_t* st, int* os_error);
int capsid__acl_fs_stat_dir(capsid__acl_dir_t d, capsid__acl_stat_t* st,
                            int* os_error);
void capsid__acl_fs_close(capsid__acl_dir_t d);

/* Calls cb for every entry of d but "." and ".."; cb returning nonzero
 * stops the listing and is returned. */
typedef int (*capsid__acl_list_cb)(void* arg, const char* name, int type);
int capsid__acl_fs_list(capsid__acl_dir_t d, capsid__acl_list_cb cb,
                        void* arg, int* os_error);

/* State files. */
int capsid__acl_fs_mkdirs(const char* path, int* os_error);
int capsid__acl_fs_lock(const char* path, int no_wait,
                        capsid__acl_dir_t* out, int* os_error);
void capsid__acl_fs_unlock(capsid__acl_dir_t lock);
/* Writes path crash-safely: a temporary file, synced, renamed over path,
 * and the directory synced. */
int capsid__acl_fs_write_atomic(const char* path, const void* data,
                                size_t len, int* os_error);
int capsid__acl_fs_read_file(const char* path, capsid__buf_t* out,
                             int* os_error);
int capsid__acl_fs_unlink(const char* path, int* os_error);
/* Removes an empty directory; errors are ignored. */
void capsid__acl_fs_rmdir(const char* path);
/* Names (not paths) of the files in dir ending in suffix. */
int capsid__acl_fs_list_names(const char* dir, const char* suffix,
                              capsid__strv_t* out, int* os_error);

/* The audit's question about one inode: is it writable by "other" or by
 * one of gids? Returns a static reason or NULL. Thread-safe. */
const char* capsid__acl_fs_audit_entry(capsid__acl_dir_t d, const char* name,
                                       const uint32_t* gids, size_t n_gids,
                                       int* is_dir);

/* ------------------------------------------------------------------------ */
/* The record                                                                */

typedef struct capsid__acl_rdir_s {
  char* rel; /* relative to the target root; "" for the root */
  uint64_t dev;
  uint64_t ino;
  int64_t ctime_sec;
  uint32_t ctime_nsec;
} capsid__acl_rdir_t;

typedef struct capsid__acl_rtarget_s {
  capsid__acl_target_t t; /* path, kind, entries as written */
  uint64_t digest;        /* of the target and the targets nested in it */
  int complete;           /* walked to the end without an error */
  capsid__acl_rdir_t* dirs;
  size_t n_dirs;
  size_t cap_dirs;
} capsid__acl_rtarget_t;

typedef struct capsid__acl_record_s {
  char* key;
  int complete;
  capsid__acl_rtarget_t* targets;
  size_t n_targets;
} capsid__acl_record_t;

/* Parses a record file's bytes. Every length and count is checked against
 * the data; any inconsistency (or a checksum mismatch) is CAPSID_ECORRUPT
 * and leaves out empty. */
int capsid__acl_record_parse(const void* data, size_t len,
                             capsid__acl_record_t* out);
int capsid__acl_record_serialize(const capsid__acl_record_t* rec,
                                 capsid__buf_t* out);
void capsid__acl_record_free(capsid__acl_record_t* rec);
/* Reads and parses a record file; a missing one sets *missing and
 * returns 0. */
int capsid__acl_record_load(const char* path, capsid__acl_record_t* rec,
                            capsid_error_t* err, int* missing);
/* STATE/acl/<digest of key>.rec and .lock. */
char* capsid__acl_record_path(const char* state_dir, const char* key,
                              const char* suffix);
int capsid__acl_rdir_push(capsid__acl_rtarget_t* t, const char* rel,
                          const capsid__acl_stat_t* st);

/* ------------------------------------------------------------------------ */
/* The walk (walk.c): runs on worker threads                                 */

typedef struct capsid__acl_walk_s capsid__acl_walk_t;

/* Everything the op's work items share. */
struct capsid__acl_op_s {
  uv_loop_t* loop;
  capsid__pool_t* pool;
  capsid__acl_action_t action;
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  char* state_dir;
  capsid__acl_done_cb cb;
  void* data;
  capsid__work_t* items;
  unsigned n_items;
  unsigned n_done;
  uv_timer_t timer;
  int timer_live;
  int status;
  capsid_error_t err;
  uint64_t start_ns;
  atomic_int canceled;
  atomic_int phase;
  atomic_uint_fast64_t dirs, files, changed, unchanged_dirs, skipped_links,
      skipped_xdev, skipped_special, errors, drifted;
  int full;
  capsid__acl_walk_t* walk;
};

/* The work_cb of every item of an op: the first item to run leads (lock,
 * record, plan, final record; lead.c), every item walks (walk.c). */
void capsid__acl_walk_work(capsid__work_t* w);
capsid__acl_walk_t* capsid__acl_walk_new(void);
void capsid__acl_walk_free(capsid__acl_walk_t* walk);

/* Test hook (failure-injection builds only): called by a walker between
 * listing a directory entry and acting on it, with the directory and the
 * entry's name, and again by the hand-back between its check of the
 * entry and the change. Lets a test swap the entry in those windows. */
#ifdef CAPSID_FAULT_INJECTION
extern void (*capsid__acl_test_hook)(capsid__acl_dir_t d, const char* name);
#endif

#endif
