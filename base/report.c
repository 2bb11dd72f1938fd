/* The report lines of doctor, setup and uninstall (base/report.h). */
#include "report.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void capsid__say(capsid__report_cb cb, void* data, const char* feature,
                 int ok, const char* fmt, ...) {
  char buf[1024];
  va_list ap;

  /* Each line ends a step: --verbose times it, reported or not. */
  capsid__log_step(feature, ok);
  if (cb == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  cb(data, feature, ok, buf);
}
