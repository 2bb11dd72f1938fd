/* Network lockdown. Windows: offline jobs run as the offline sandbox user,
 * whom two firewall rules (net/win/firewall-win.c) block. */
#ifndef CAPSID_NET_H
#define CAPSID_NET_H

#include "capsid-common.h"
#include "report.h"

/* Adds (or reconfigures) the blocking rules scoped to offline_sid and
 * reads them back; CAPSID_EVERIFY names a property that did not stick. */
int capsid__firewall_setup(const char* offline_sid, capsid__report_cb cb,
                           void* data, capsid_error_t* err);
/* 1 when both rules are in place as planned; why says what is not. */
int capsid__firewall_probe(const char* offline_sid, char* why, size_t size);
/* Removes both rules; returns the number left behind. */
int capsid__firewall_uninstall(capsid__report_cb cb, void* data);

#endif
