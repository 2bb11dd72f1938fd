/* Elevated mode's part of doctor, setup and uninstall (elevated-win.c);
 * system-win.c calls them. Report lines: capsid__say (report.h). */
#ifndef CAPSID_ELEVATED_WIN_H
#define CAPSID_ELEVATED_WIN_H

#include "capsid-common.h"
#include "report.h"

/* Elevated mode's part of doctor: reports its lines, returns 1 when
 * elevated jobs can run here. */
int capsid__elevated_probe(capsid__report_cb cb, void* data);
/* Elevated mode's part of setup (sandbox users and group, their secret,
 * firewall rules). */
int capsid__elevated_setup(capsid__report_cb cb, void* data,
                           capsid_error_t* err);
/* Removes it all; returns the number of things left behind. */
int capsid__elevated_uninstall(capsid__report_cb cb, void* data);

#endif
