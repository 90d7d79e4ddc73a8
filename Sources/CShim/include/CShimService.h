// C shim for the long-running service: signals as a file descriptor, kernel uevents, inotify.
#ifndef OOPSD_CSHIM_SERVICE_H
#define OOPSD_CSHIM_SERVICE_H

#include <stdint.h>

/// Blocks SIGTERM, SIGINT and SIGHUP for the process and returns a signalfd that reports them
/// (non-blocking, close-on-exec), or -1 with errno set.
int oops_signalfd_for_service(void);
/// Reads one signal from a signalfd: its number, 0 when none is pending, -1 with errno on error.
int oops_signalfd_next(int fd);

/// A non-blocking NETLINK_KOBJECT_UEVENT socket bound to the kernel's uevent group, or -1.
int oops_uevent_socket(void);

/// inotify_init1(IN_NONBLOCK | IN_CLOEXEC).
int oops_inotify_init(void);
/// inotify_add_watch for changes that matter to re-arming: a file written, created, deleted,
/// moved, or its attributes changed; the watched object itself deleted or moved.
int oops_inotify_watch(int fd, const char *path);
/// Drains pending inotify events; returns how many were read, 0 when none, -1 with errno. Stores the distinct
/// watch descriptors they came from in wds[0..<*found] (at most capacity; -1 stands for a queue overflow).
int oops_inotify_drain(int fd, int *wds, int capacity, int *found);

/// poll(2) on up to 8 descriptors for input; sets bit i of *ready when fds[i] is readable.
/// Returns poll's result (0 on timeout, -1 with errno).
int oops_poll_input(const int *fds, int count, int timeout_ms, uint32_t *ready);

/// CLOCK_MONOTONIC in microseconds.
uint64_t oops_monotonic_usec(void);
/// CLOCK_REALTIME in microseconds.
uint64_t oops_realtime_usec(void);

#endif
