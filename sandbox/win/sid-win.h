/* SIDs as the Windows units pass them: text ("S-1-5-21-a-b-c-d") in a
 * fixed buffer, converted to a binary SID only where an API needs one. */
#ifndef CAPSID_SID_WIN_H
#define CAPSID_SID_WIN_H

/* A string SID "S-1-5-21-a-b-c-d" is at most this long. */
#define CAPSID__SID_MAX 64

#endif
