// C shim for the service; see include/CShimService.h.
#define _GNU_SOURCE
#include "CShimService.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int oops_signalfd_for_service(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1) return -1;
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int oops_signalfd_next(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
    if (n == -1 && (errno == EAGAIN || errno == EINTR)) return 0;
    return -1;
}

int oops_uevent_socket(void) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    if (fd == -1) return -1;
    struct sockaddr_nl address;
    memset(&address, 0, sizeof address);
    address.nl_family = AF_NETLINK;
    address.nl_groups = 1;  // the kernel's uevent multicast group
    if (bind(fd, (struct sockaddr *)&address, sizeof address) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int oops_inotify_init(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }

int oops_inotify_watch(int fd, const char *path) {
    return inotify_add_watch(fd, path, IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                           IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
}

static void remember_wd(int wd, int *wds, int capacity, int *found) {
    for (int i = 0; i < *found; i++)
        if (wds[i] == wd) return;
    if (*found < capacity)
        wds[(*found)++] = wd;
    else
        wds[capacity - 1] = -1; /* more than fit: "unknown" */
}

int oops_inotify_drain(int fd, int *wds, int capacity, int *found) {
    char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int events = 0;
    *found = 0;
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n == -1) {
            if (errno == EAGAIN) return events;
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) return events;
        for (char *p = buffer; p < buffer + n;) {
            struct inotify_event *event = (struct inotify_event *)p;
            events++;
            remember_wd(event->mask & IN_Q_OVERFLOW ? -1 : event->wd, wds, capacity, found);
            p += sizeof(struct inotify_event) + event->len;
        }
    }
}

int oops_poll_input(const int *fds, int count, int timeout_ms, uint32_t *ready) {
    struct pollfd set[8];
    if (count > 8) count = 8;
    for (int i = 0; i < count; i++) {
        set[i].fd = fds[i];
        set[i].events = POLLIN;
        set[i].revents = 0;
    }
    int rc = poll(set, (nfds_t)count, timeout_ms);
    *ready = 0;
    if (rc > 0)
        for (int i = 0; i < count; i++)
            if (set[i].revents & (POLLIN | POLLHUP | POLLERR)) *ready |= 1u << i;
    return rc;
}

static uint64_t usec(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t oops_monotonic_usec(void) { return usec(CLOCK_MONOTONIC); }
uint64_t oops_realtime_usec(void) { return usec(CLOCK_REALTIME); }
