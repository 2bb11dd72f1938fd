/* capsid-runner.exe: the process capsid starts as a sandbox user for an
 * elevated job (sandbox/win/runner-win.c). It is not a command for
 * people: it takes one argument, the pipe capsid created for it, and
 * refuses anything else. Install it next to capsid.exe (or the program
 * embedding the library), in a directory the sandbox users can read. */
#include "runner-win.h"

int main(int argc, char** argv) {
  return capsid__runner_main(argc, argv);
}
