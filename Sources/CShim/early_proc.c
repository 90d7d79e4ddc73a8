// A statically linked Swift program (oopsd-capture, `-static-executable`) finds its runtime path through
// /proc/self/exe (dladdr knows nothing in a static glibc executable) and aborts with "Unable to obtain Swift
// runtime path" when /proc is not mounted - which is the case for /init, PID 1 of an initramfs. This
// constructor runs before any Swift code and mounts /proc for PID 1 only, and only when it is missing.
#include <sys/mount.h>
#include <unistd.h>

__attribute__((constructor(101))) static void oops_mount_proc_for_pid1(void) {
    char target[8];
    if (getpid() == 1 && readlink("/proc/self/exe", target, sizeof target) < 0) {
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
    }
}
