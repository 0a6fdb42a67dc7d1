/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for tests: socket(AF_INET6, ...) fails with EAFNOSUPPORT,
 * as on a kernel booted with ipv6.disable=1. Other families pass through.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

int socket(int domain, int type, int protocol);

/* socket(2) without IPv6. */
int socket(int domain, int type, int protocol)
{
	if (domain == AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return (int)syscall(SYS_socket, domain, type, protocol);
}
