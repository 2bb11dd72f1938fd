/* Elevated mode's per-workspace namespaces pinned across capsid processes
 * (nspin-linux.c): the workspace's offline network namespace and its IPC
 * namespace, kept by a bind mount under the state directory so the next
 * `capsid run` of the same workspace joins them instead of making new
 * ones. Root only (a bind mount in the host's mount namespace). */
#ifndef CAPSID_NSPIN_LINUX_H
#define CAPSID_NSPIN_LINUX_H

#include "capsid-common.h"
#include "capstore.h"
#include "report.h"

#include <stdint.h>

/* The namespace of kind (CAPSID__NS_NET or CAPSID__NS_IPC, net.h) of the
 * workspace rooted at path with identity uid: the pinned one when there
 * is one, else a new one, pinned for the next process. Returns 0 with a
 * close-on-exec descriptor in *fd, or an errno value (nothing could be
 * made). A pin that cannot be made is not an error: the namespace then
 * lives as long as this process holds it, as before pins. */
int capsid__nspin_get(const char* state_dir, uint32_t uid, const char* path,
                      unsigned kind, int* fd);

/* Removes the pins no workspace of store names any more and those whose
 * workspace directory is gone (store NULL: every pin). Reports each
 * removal through cb; returns the number of pins that could not be
 * removed. */
int capsid__nspin_clean(const char* state_dir,
                        const capsid__capstore_t* store,
                        capsid__report_cb cb, void* data);

#endif
