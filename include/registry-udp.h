/* SPDX-License-Identifier: MIT */
/*
 * One UDP DNS listener: non-blocking socket read and answered in batches
 * (recvmmsg/sendmmsg) into buffers allocated once. IP_PKTINFO /
 * IPV6_RECVPKTINFO tell the arrival address and interface; replies leave
 * from that address. IPv6 sockets are IPV6_V6ONLY so that 0.0.0.0:53 and
 * [::]:53 can be bound together.
 */
#ifndef WGSD_REGISTRY_UDP_H
#define WGSD_REGISTRY_UDP_H

#include "addr.h"
#include "registry-listener.h"

struct event_base;
struct strbuf;
struct registry_udp;

/* Bind addr and start answering with cb. NULL on failure with the reason in err. */
struct registry_udp *registry_udp_new(struct event_base *base, const union sockaddr_any *addr,
				      registry_answer_cb cb, void *arg, struct strbuf *err);
/* Close the socket but keep the listener and its counters (a reload that moves an address). */
void registry_udp_unbind(struct registry_udp *u);
/* Open and bind the socket again after registry_udp_unbind() (0 when bound): 0 or -errno, reason in err. */
int registry_udp_rebind(struct registry_udp *u, struct strbuf *err);
/* Close and free (NULL is fine). */
void registry_udp_free(struct registry_udp *u);
/* Counters of this listener. */
const struct registry_stats *registry_udp_stats(const struct registry_udp *u);

#endif
