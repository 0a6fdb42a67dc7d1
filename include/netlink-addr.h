/* SPDX-License-Identifier: MIT */
/*
 * This host's interface addresses from rtnetlink (libmnl), kept current on
 * a libevent loop: one socket subscribed to the IPv4 and IPv6 address
 * groups; any RTM_NEWADDR/RTM_DELADDR event (or a lost one: ENOBUFS, an
 * interrupted dump) makes it dump the table again shortly after, so a burst
 * of changes costs one dump. The owner is told when the table changed.
 * Never logs.
 */
#ifndef WGSD_NETLINK_ADDR_H
#define WGSD_NETLINK_ADDR_H

#include <stddef.h>

#include "client-candidates.h"

struct event_base;
struct nlmsghdr;
struct netlink_addr;

/* Most addresses kept (more are ignored). */
#define NETLINK_ADDR_MAX 256
/* Events are gathered this long before the table is dumped again. */
#define NETLINK_ADDR_SETTLE_MS 100

/* The table changed (also after the first dump). */
typedef void (*netlink_addr_cb)(void *arg);

/* Open the socket, subscribe and start the first dump. NULL with errno set on failure. */
struct netlink_addr *netlink_addr_new(struct event_base *base, netlink_addr_cb cb, void *arg);
/* Close and free (NULL is fine). */
void netlink_addr_free(struct netlink_addr *na);
/* The current table (empty until the first dump completed). */
const struct cand_ifaddr *netlink_addr_list(const struct netlink_addr *na, size_t *n);
/* True once the first dump completed. */
int netlink_addr_ready(const struct netlink_addr *na);

/*
 * Read one RTM_NEWADDR message into out. 0, -ENOENT for another message
 * type or family, -EBADMSG when it is malformed. Exposed for tests and fuzzing.
 */
int netlink_addr_parse(const struct nlmsghdr *nlh, struct cand_ifaddr *out);

#endif
