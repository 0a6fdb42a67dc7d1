/* SPDX-License-Identifier: MIT */
/*
 * NAT-PMP client on the event loop, with Debian's libnatpmp used
 * non-blocking: its socket watched by the loop, our own retransmission
 * timer. One exchange asks the public address, then the UDP mapping.
 * Never logs.
 */
#ifndef WGSD_PORTMAP_NATPMP_H
#define WGSD_PORTMAP_NATPMP_H

#include <stddef.h>
#include <stdint.h>

#include "portmap.h"

struct portmap_natpmp;

/* Create a client. NULL on ENOMEM. */
struct portmap_natpmp *portmap_natpmp_new(struct event_base *base, portmap_result_cb cb, void *arg);
/* Start creating or renewing a mapping (an exchange in flight is dropped). 0, or -errno without callback. */
int portmap_natpmp_map(struct portmap_natpmp *c, const struct portmap_req *req);
/* Drop the exchange in flight; its callback is not called. */
void portmap_natpmp_cancel(struct portmap_natpmp *c);
/* Delete the last mapping made (one request with lifetime 0, not waited for); cancels as above. */
void portmap_natpmp_delete(struct portmap_natpmp *c);
/* Free (NULL is fine); does not delete. */
void portmap_natpmp_free(struct portmap_natpmp *c);
/*
 * Whether a datagram from the gateway is a NAT-PMP response that libnatpmp
 * can read in full: version 0, a response opcode (128..130), and the length
 * its fields need (libnatpmp reads them from a 16-byte buffer without
 * looking at the length received).
 */
bool portmap_natpmp_response_ok(const uint8_t *buf, size_t len);

#endif
