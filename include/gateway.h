/* SPDX-License-Identifier: MIT */
/*
 * The IPv4 default gateway from the kernel's routing table (rtnetlink):
 * a dump request builder, a dump reader fed one nlmsghdr at a time, and a
 * test of route notifications. Pure: no sockets, no logging.
 */
#ifndef WGSD_GATEWAY_H
#define WGSD_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

/* Smallest buffer gateway_build_dump() accepts. */
#define GATEWAY_REQ_BUF_LEN 64

/* A default route through a router. */
struct gateway {
	uint8_t addr[4];               /* the router, network order */
	uint32_t ifindex;              /* output interface, 0 unknown */
	uint32_t metric;               /* RTA_PRIORITY */
};

/* One dump being read. */
struct gateway_scan {
	uint32_t seq;
	bool found;
	struct gateway best;           /* lowest metric so far */
};

/* Write an RTM_GETROUTE dump request for IPv4 into buf; its length, or -ENOSPC. */
int gateway_build_dump(void *buf, size_t len, uint32_t seq);
/* Start reading the dump answering request seq. */
void gateway_scan_init(struct gateway_scan *s, uint32_t seq);
/*
 * Feed one message of the dump. 0: more to come; 1: the dump is complete
 * (s->found says whether a default gateway exists); -EINTR: the table
 * changed during the dump (ask again); -errno from an error message;
 * -EBADMSG for a malformed message. Messages of other sequence numbers
 * are ignored (0).
 */
int gateway_scan_feed(struct gateway_scan *s, const struct nlmsghdr *nlh);
/* True when a route notification adds or removes an IPv4 default route of the main table. */
bool gateway_is_default_change(const struct nlmsghdr *nlh);
/* True when both name the same router on the same interface (the metric aside). */
bool gateway_equal(const struct gateway *a, const struct gateway *b);

#endif
