// C shim: the system calls, macros and constants Swift cannot import directly.
// Every function here is a thin, non-variadic wrapper; error handling stays in Swift
// (SystemCalls), which reads errno right after the call.
#ifndef OOPSD_CSHIM_H
#define OOPSD_CSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <sys/types.h>
#include <sys/stat.h>

/// Returns the calling thread's errno (a macro in glibc, so Swift cannot read it directly).
static inline int oops_errno(void) { return errno; }
/// Clears errno before calls that report errors only through it.
static inline void oops_clear_errno(void) { errno = 0; }

/// kexec_file_load(2): no glibc wrapper exists, so it goes through syscall(2).
long oops_kexec_file_load(int kernel_fd, int initrd_fd, const char *cmdline, unsigned long flags);
/// The KEXEC_FILE_* flags of <linux/kexec.h>.
enum {
    OOPS_KEXEC_FILE_UNLOAD = 0x1,
    OOPS_KEXEC_FILE_ON_CRASH = 0x2,
    OOPS_KEXEC_FILE_NO_INITRAMFS = 0x4,
};

/// One segment of kexec_load(2) (`struct kexec_segment` of <linux/kexec.h>): `bufsz` bytes at `buf` in this
/// process, copied to the physical range `mem` .. `mem + memsz` (the rest zero-filled) when the kernel jumps.
typedef struct {
    const void *buf;
    size_t bufsz;
    uint64_t mem;
    size_t memsz;
} oops_kexec_segment_t;
_Static_assert(sizeof(oops_kexec_segment_t) == 32, "struct kexec_segment is four 64-bit words on x86-64");
/// kexec_load(2): no glibc wrapper exists, so it goes through syscall(2).
long oops_kexec_load(uint64_t entry, unsigned long count, const oops_kexec_segment_t *segments, unsigned long flags);
/// KEXEC_ARCH_X86_64 (EM_X86_64 << 16) and KEXEC_SEGMENT_MAX of <linux/kexec.h>.
enum {
    OOPS_KEXEC_ARCH_X86_64 = 62 << 16,
    OOPS_KEXEC_SEGMENT_MAX = 16,
};

/// sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE): starts writing the range's dirty pages to the device
/// without waiting (glibc declares it only with _GNU_SOURCE). 0 or -1 with errno.
int oops_start_writeback(int fd, int64_t offset, int64_t count);

/// Opens the file behind `fd` once more, write-only with O_DIRECT (and O_CLOEXEC), through /proc/self/fd (glibc
/// declares O_DIRECT only with _GNU_SOURCE). The new descriptor, or -1 with errno (a file system without direct I/O
/// says EINVAL).
int oops_reopen_direct(int fd);

/// reboot(2) with one of the OOPS_RB_* commands below.
int oops_reboot(int command);
enum {
    OOPS_RB_AUTOBOOT = 0x01234567,
    OOPS_RB_HALT_SYSTEM = (int)0xcdef0123,
    OOPS_RB_POWER_OFF = 0x4321fedc,
    OOPS_RB_KEXEC = 0x45584543,
};

/// klogctl(SYSLOG_ACTION_READ_ALL): copies up to `length` bytes of the kernel's log buffer into `buffer`, leaving it
/// as it is; the byte count or -1 with errno. oops_kernel_log_size: the buffer's size (SYSLOG_ACTION_SIZE_BUFFER).
int oops_kernel_log(char *buffer, int length);
int oops_kernel_log_size(void);

/// finit_module(2): load a kernel module from an open file.
long oops_finit_module(int fd, const char *params, int flags);
/// MODULE_INIT_* flags of <linux/module.h>.
enum {
    OOPS_MODULE_INIT_IGNORE_MODVERSIONS = 1,
    OOPS_MODULE_INIT_IGNORE_VERMAGIC = 2,
    OOPS_MODULE_INIT_COMPRESSED_FILE = 4,
};

/// open(2) without the variadic mode argument.
int oops_open(const char *path, int flags, mode_t mode);
/// openat(2) without the variadic mode argument.
int oops_openat(int dirfd, const char *path, int flags, mode_t mode);
/// ioctl(2) with a pointer argument.
int oops_ioctl_ptr(int fd, unsigned long request, void *arg);

/// pipe2(2) with O_CLOEXEC (glibc declares pipe2 only with _GNU_SOURCE).
int oops_pipe_cloexec(int fds[2]);
/// sched_getaffinity(2) and sched_setaffinity(2) of the calling thread, with the mask as `size` plain bytes (bit i of
/// byte j: CPU 8j + i), since Swift cannot import cpu_set_t's macros (glibc declares both only with _GNU_SOURCE).
/// 0 or -1 with errno.
int oops_thread_affinity(void *mask, size_t size);
int oops_set_thread_affinity(const void *mask, size_t size);
/// fork(2), for the capture's child processes (the capture binary is static and single-threaded when it forks).
int oops_fork(void);
/// How a wait(2) status ended: sets *exit_code (WEXITSTATUS) and returns 1 for a normal exit; sets *signal
/// (WTERMSIG) and returns 2 for a death by signal; returns 0 otherwise.
int oops_wait_status(int status, int *exit_code, int *signal);
/// setrlimit(2) of RLIMIT_DATA (private writable memory: heap, anonymous mappings, thread stacks) and of
/// RLIMIT_CORE to 0 (a dying child must not write a core into the capture kernel's RAM).
int oops_limit_child(uint64_t data_bytes);

/// Type of a struct stat, as a small value Swift can read without the platform headers' quirks.
typedef struct {
    uint64_t size;
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint64_t inode;
    uint64_t device;
    uint64_t rdev;
    int64_t mtime_sec;
    int64_t mtime_nsec;
    int64_t ctime_sec;
    int64_t ctime_nsec;
    uint64_t blocks;
    uint64_t nlink;
} oops_stat_t;

/// lstat(2) or stat(2) (follow != 0) into an oops_stat_t.
int oops_stat(const char *path, int follow, oops_stat_t *out);
/// fstat(2) into an oops_stat_t.
int oops_fstat(int fd, oops_stat_t *out);

/// The S_IF* file type bits.
enum {
    OOPS_S_IFMT = 0170000,
    OOPS_S_IFDIR = 0040000,
    OOPS_S_IFREG = 0100000,
    OOPS_S_IFLNK = 0120000,
    OOPS_S_IFBLK = 0060000,
    OOPS_S_IFCHR = 0020000,
};

#include "CShimService.h"
#include "CShimNetwork.h"

#endif
