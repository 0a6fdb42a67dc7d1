/* SPDX-License-Identifier: MIT */
/* Socket options shared by the registry's UDP listeners and the relay's ports. No logging. */
#ifndef WGSD_SOCK_H
#define WGSD_SOCK_H

/*
 * Ask for receive and send buffers of bytes each, so that a burst waits in
 * the queue instead of being dropped while the loop is busy (a snapshot
 * build, a batch of answers). SO_*BUFFORCE passes net.core.[rw]mem_max
 * with CAP_NET_ADMIN; without it the kernel caps the plain request. Best
 * effort: nothing is reported.
 */
void sock_set_buffers(int fd, int bytes);

#endif
