// C shim for the capture kernel's network: the ioctls that configure an IPv4 interface and a default route
// (struct ifreq and struct rtentry are unions and casts Swift imports poorly), and starting a helper program.
#ifndef OOPSD_CSHIM_NETWORK_H
#define OOPSD_CSHIM_NETWORK_H

#include <stdint.h>
#include <sys/types.h>

/// Sets `name` up with IPv4 `address`/`prefix_length` (addresses as a << 24 | b << 16 | c << 8 | d) and, when
/// `gateway` is not 0, adds a default route through it. 0 on success; -1 with errno set and `*step` naming
/// the call that failed.
int oops_net_configure(const char *name, uint32_t address, int prefix_length, uint32_t gateway, const char **step);
/// Sets `name` up without an address (the loopback interface). 0 or -1 with errno.
int oops_net_up(const char *name);
/// Starts `path` with `argv` (NULL-terminated, argv[0] included) and an empty environment, its standard input
/// `stdin_fd`, standard output `stdout_fd` and standard error `stderr_fd`; other descriptors close on exec as
/// opened. The child's PID, or -1 with errno.
pid_t oops_spawn(const char *path, char *const argv[], int stdin_fd, int stdout_fd, int stderr_fd);

#endif
