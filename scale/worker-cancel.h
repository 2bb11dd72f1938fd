/* capsid cancel on the worker's side (worker-cancel.c). */
#ifndef CAPSID_SCALE_WORKER_CANCEL_H
#define CAPSID_SCALE_WORKER_CANCEL_H

#include "worker-state.h"

/* Reads the cancel set once a second and answers the held jobs it
 * names. */
void worker_cancel_poll(worker_t* w);
void worker_cancel_free(worker_t* w);

#endif
