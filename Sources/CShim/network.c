// C shim implementations; see include/CShimNetwork.h.
#define _GNU_SOURCE
#include "CShimNetwork.h"

#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_address(struct sockaddr *target, uint32_t address) {
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(address);
    memcpy(target, &in, sizeof in);
}

static int bring_up(int sock, const char *name) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(sock, SIOCGIFFLAGS, &request) != 0) return -1;
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(sock, SIOCSIFFLAGS, &request);
}

int oops_net_up(const char *name) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    int result = bring_up(sock, name);
    int saved = errno;
    close(sock);
    errno = saved;
    return result;
}

int oops_net_configure(const char *name, uint32_t address, int prefix_length, uint32_t gateway, const char **step) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        *step = "socket(AF_INET)";
        return -1;
    }
    int result = -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    set_address(&request.ifr_addr, address);
    if (ioctl(sock, SIOCSIFADDR, &request) != 0) {
        *step = "ioctl(SIOCSIFADDR)";
        goto out;
    }
    uint32_t mask = prefix_length <= 0 ? 0 : prefix_length >= 32 ? 0xffffffffu : ~((1u << (32 - prefix_length)) - 1);
    set_address(&request.ifr_netmask, mask);
    if (ioctl(sock, SIOCSIFNETMASK, &request) != 0) {
        *step = "ioctl(SIOCSIFNETMASK)";
        goto out;
    }
    if (bring_up(sock, name) != 0) {
        *step = "ioctl(SIOCSIFFLAGS)";
        goto out;
    }
    if (gateway != 0) {
        struct rtentry route;
        memset(&route, 0, sizeof route);
        set_address(&route.rt_dst, 0);
        set_address(&route.rt_genmask, 0);
        set_address(&route.rt_gateway, gateway);
        route.rt_flags = RTF_UP | RTF_GATEWAY;
        route.rt_dev = (char *)name;
        if (ioctl(sock, SIOCADDRT, &route) != 0 && errno != EEXIST) {
            *step = "ioctl(SIOCADDRT)";
            goto out;
        }
    }
    result = 0;
out:;
    int saved = errno;
    close(sock);
    errno = saved;
    return result;
}

pid_t oops_spawn(const char *path, char *const argv[], int stdin_fd, int stdout_fd, int stderr_fd) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (dup2(stdin_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) _exit(126);
    char *const environment[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve(path, argv, environment);
    // The parent reads the last line of standard error as the reason. Only write(2) after fork (the capture has
    // threads): the errno as a number, formatted by hand.
    int error = errno;
    char digits[12];
    int count = 0;
    do {
        digits[sizeof digits - 1 - count++] = (char)('0' + error % 10);
        error /= 10;
    } while (error > 0 && count < (int)sizeof digits);
    static const char said[] = "oopsd-capture-upload could not be started: execve failed with errno ";
    (void)!write(2, said, sizeof said - 1);
    (void)!write(2, digits + sizeof digits - count, (size_t)count);
    (void)!write(2, "\n", 1);
    _exit(127);
}
