// C shim implementations; see include/CShim.h.
#define _GNU_SOURCE
#include "CShim.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kexec.h>
#include <linux/reboot.h>

_Static_assert(OOPS_RB_AUTOBOOT == RB_AUTOBOOT, "RB_AUTOBOOT");
_Static_assert(OOPS_RB_POWER_OFF == RB_POWER_OFF, "RB_POWER_OFF");
_Static_assert(OOPS_RB_KEXEC == LINUX_REBOOT_CMD_KEXEC, "RB_KEXEC");
_Static_assert(OOPS_KEXEC_ARCH_X86_64 == KEXEC_ARCH_X86_64, "KEXEC_ARCH_X86_64");
_Static_assert(OOPS_KEXEC_SEGMENT_MAX == KEXEC_SEGMENT_MAX, "KEXEC_SEGMENT_MAX");

long oops_kexec_file_load(int kernel_fd, int initrd_fd, const char *cmdline, unsigned long flags) {
    unsigned long cmdline_len = cmdline ? __builtin_strlen(cmdline) + 1 : 0;  // the kernel counts the NUL
    return syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, cmdline_len, cmdline, flags);
}

long oops_kexec_load(uint64_t entry, unsigned long count, const oops_kexec_segment_t *segments, unsigned long flags) {
    return syscall(SYS_kexec_load, entry, count, segments, flags);
}

int oops_reboot(int command) { return reboot(command); }

int oops_kernel_log(char *buffer, int length) { return klogctl(3, buffer, length); }
int oops_kernel_log_size(void) { return klogctl(10, NULL, 0); }

long oops_finit_module(int fd, const char *params, int flags) {
    return syscall(SYS_finit_module, fd, params ? params : "", flags);
}

int oops_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
int oops_openat(int dirfd, const char *path, int flags, mode_t mode) { return openat(dirfd, path, flags, mode); }
int oops_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

int oops_thread_affinity(void *mask, size_t size) { return sched_getaffinity(0, size, (cpu_set_t *)mask); }

int oops_set_thread_affinity(const void *mask, size_t size) {
    return sched_setaffinity(0, size, (const cpu_set_t *)mask);
}

int oops_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int oops_fork(void) { return fork(); }

int oops_wait_status(int status, int *exit_code, int *signal) {
    if (WIFEXITED(status)) {
        *exit_code = WEXITSTATUS(status);
        return 1;
    }
    if (WIFSIGNALED(status)) {
        *signal = WTERMSIG(status);
        return 2;
    }
    return 0;
}

int oops_limit_child(uint64_t data_bytes) {
    struct rlimit core = {0, 0};
    if (setrlimit(RLIMIT_CORE, &core) != 0) return -1;
    struct rlimit data = {data_bytes, data_bytes};
    return setrlimit(RLIMIT_DATA, &data);
}

static void fill(const struct stat *st, oops_stat_t *out) {
    out->size = (uint64_t)st->st_size;
    out->mode = st->st_mode;
    out->uid = st->st_uid;
    out->gid = st->st_gid;
    out->inode = st->st_ino;
    out->device = st->st_dev;
    out->rdev = st->st_rdev;
    out->mtime_sec = st->st_mtim.tv_sec;
    out->mtime_nsec = st->st_mtim.tv_nsec;
    out->ctime_sec = st->st_ctim.tv_sec;
    out->ctime_nsec = st->st_ctim.tv_nsec;
    out->blocks = (uint64_t)st->st_blocks;
    out->nlink = st->st_nlink;
}

int oops_stat(const char *path, int follow, oops_stat_t *out) {
    struct stat st;
    int rc = follow ? stat(path, &st) : lstat(path, &st);
    if (rc == 0) fill(&st, out);
    return rc;
}

int oops_fstat(int fd, oops_stat_t *out) {
    struct stat st;
    int rc = fstat(fd, &st);
    if (rc == 0) fill(&st, out);
    return rc;
}

int oops_start_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
}

int oops_reopen_direct(int fd) {
    char path[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
}
