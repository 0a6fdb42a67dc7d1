/* SPDX-License-Identifier: MIT */
/* Socket options shared by the registry's UDP listeners and the relay's ports. */
#include <sys/socket.h>

#include "sock.h"

/* Set an integer socket option. */
static int set_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* Large receive and send buffers, forced where the capability allows. */
void sock_set_buffers(int fd, int bytes)
{
	if (set_opt(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes) < 0)
		(void)set_opt(fd, SOL_SOCKET, SO_RCVBUF, bytes);
	if (set_opt(fd, SOL_SOCKET, SO_SNDBUFFORCE, bytes) < 0)
		(void)set_opt(fd, SOL_SOCKET, SO_SNDBUF, bytes);
}
