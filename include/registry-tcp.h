/* SPDX-License-Identifier: MIT */
/*
 * One TCP DNS listener (RFC 7766): several and pipelined queries per
 * connection with 2-byte length framing, an idle timeout, a cap on
 * connections (over it, new connections are accepted and reset at once so
 * that clients fail fast, a bounded number per wakeup), output
 * bounded per connection (reading stops until the client drains it, and a
 * client that stops reading is closed by the idle timeout), write events
 * armed only while output is queued, and accept paused briefly on EMFILE.
 * Each connection's arrival interface is read once, at accept, and passed
 * with its queries as UDP passes each datagram's (access = peers).
 */
#ifndef WGSD_REGISTRY_TCP_H
#define WGSD_REGISTRY_TCP_H

#include <stddef.h>

#include "addr.h"
#include "registry-listener.h"

struct event_base;
struct strbuf;
struct registry_tcp;

/* Bind and listen on addr. NULL on failure with the reason in err. */
struct registry_tcp *registry_tcp_new(struct event_base *base, const union sockaddr_any *addr,
				      unsigned int max_conns, unsigned int idle_timeout_ms,
				      registry_answer_cb cb, void *arg, struct strbuf *err);
/* Change the connection cap and idle timeout (existing connections keep running). */
void registry_tcp_set_limits(struct registry_tcp *t, unsigned int max_conns, unsigned int idle_timeout_ms);
/* Close the listening socket but keep the listener, its counters and open connections. */
void registry_tcp_unbind(struct registry_tcp *t);
/* Listen again after registry_tcp_unbind() (0 when listening): 0 or -errno, reason in err. */
int registry_tcp_rebind(struct registry_tcp *t, struct strbuf *err);
/* Close the listener and every connection, and free (NULL is fine). */
void registry_tcp_free(struct registry_tcp *t);
/* Counters of this listener. */
const struct registry_stats *registry_tcp_stats(const struct registry_tcp *t);
/* Open connections now. */
size_t registry_tcp_connections(const struct registry_tcp *t);
/* Output queued in wgsd (not yet handed to the kernel) over all connections, in bytes. */
size_t registry_tcp_queued(const struct registry_tcp *t);

#endif
