/* serve/win: the numbers a Windows server gives the SIDs it meets, and
 * the named pipe's address and access.
 *
 * serve_peer_t carries a uid and gids, as the portable server compares
 * them (the owner, whose job is whose, who may connect). On Windows each
 * is a SID: serve/win/peer-win.c keeps one table of the SIDs met and gives
 * each its own number (LocalSystem, Windows' root, is 0), so two accounts
 * never share one, whatever their RIDs. The numbers mean nothing outside
 * this process. */
#ifndef CAPSID_SERVE_WIN_H
#define CAPSID_SERVE_WIN_H

#include "serve-int.h"
#include "serve-pipe.h"

#include <windows.h>

/* The number standing for sid, adding it to the table the first time.
 * Returns 0 and sets *id, or -1 when the table is full. */
int serve__win_sid_id(PSID sid, uint32_t* id);
/* The number of a SID met already; -1 for one never met. */
int serve__win_sid_known(PSID sid, uint32_t* id);
/* The SID a number stands for (the table's), or NULL. */
PSID serve__win_id_sid(uint32_t id);
/* Ends the loop thread's impersonation of a client. When that fails the
 * process ends: the server must never go on as a client. */
void serve__win_revert(void);
/* "S-1-5-21-..." for id into buf, or "uid N" when it is not known. */
const char* serve__win_id_text(uint32_t id, char* buf, size_t size);

#endif
