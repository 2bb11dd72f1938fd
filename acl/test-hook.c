/* The ACL engine's test hook (acl-int.h), in a file of its own: the
 * walkers (walk.c) and the backends (acl/<os>/) both call it, and neither
 * should depend on the other for it. */
#include "acl-int.h"

#ifdef CAPSID_FAULT_INJECTION
void (*capsid__acl_test_hook)(capsid__acl_dir_t d, const char* name);
#else
/* ISO C wants a translation unit to declare something. */
typedef int capsid__acl_test_hook_unused;
#endif
