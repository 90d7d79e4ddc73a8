// As PID 1 of the capture initramfs, oopsd-capture starts with no /proc. The static Swift runtime
// looks up its own path through /proc/self/exe while it initialises and aborts without it
// ("Unable to obtain Swift runtime path"), so /proc is mounted here, in a constructor that runs
// before the runtime's.
#include "CCaptureInit.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int early_proc_status;

__attribute__((constructor(101))) static void oops_capture_early(void) {
    if (access("/proc/self/exe", F_OK) == 0) return;
    mkdir("/proc", 0555);
    early_proc_status = mount("proc", "/proc", "proc", 0, 0) == 0 ? 1 : -1;
}

int oops_capture_early_proc_status(void) { return early_proc_status; }
