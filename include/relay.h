/* SPDX-License-Identifier: MIT */
/*
 * The relay, event-loop glue: allocations made from DNS queries
 * (dns-answer.c calls relay_dns()->allocate), two UDP ports per
 * allocation bound on the configured public address(es), datagrams read
 * and forwarded in batches (recvmmsg/sendmmsg into buffers allocated
 * once), relay-alloc.c deciding each one, and a sweep timer that frees
 * idle allocations. It never decrypts: it holds no key but the peers'
 * public ones.
 *
 * An allocation is the unordered pair of keys: side 0 is the smaller key
 * (memcmp), side 1 the other; each side has its own port, the one it sends
 * to and receives from. Asking again for the same pair (in either order)
 * returns the same ports and counts as activity.
 */
#ifndef WGSD_RELAY_H
#define WGSD_RELAY_H

#include "config.h"
#include "dns-answer.h"

struct event_base;
struct strbuf;
struct relay;

/* Create the relay for cfg (cfg->enabled). No socket is opened until the first allocation. 0 or -ENOMEM. */
int relay_new(struct event_base *base, const struct config_relay *cfg, struct relay **out, struct strbuf *err);
/*
 * Apply a new [relay] section: with other addresses or ports every
 * allocation is dropped (peers ask again); otherwise allocations stay and
 * take the new limits. The relay keeps no pointer into cfg.
 */
void relay_apply(struct relay *r, const struct config_relay *cfg);
/* Close every socket and free (NULL is fine). */
void relay_free(struct relay *r);
/* What dns_answer() needs: addresses and the allocation callback (valid until relay_free or relay_apply). */
const struct dns_relay *relay_dns(const struct relay *r);
/* Count the outcome of a relay query (dns_answer_info.relay). */
void relay_count_query(struct relay *r, enum dns_relay_result res);
/* Append the relay's status as one JSON object. */
void relay_status_json(const struct relay *r, struct strbuf *out);
/* Append Prometheus metrics (wgsd_relay_*). */
void relay_metrics(const struct relay *r, struct strbuf *out);

#endif
