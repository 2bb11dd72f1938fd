/* The report lines of doctor, setup and uninstall (sandbox/system.h),
 * shared by every OS's system file. */
#include "system.h"

#include <stdarg.h>
#include <stdio.h>

void capsid__say(capsid__report_cb cb, void* data, const char* feature,
                 int ok, const char* fmt, ...) {
  char buf[1024];
  va_list ap;

  if (cb == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  cb(data, feature, ok, buf);
}
