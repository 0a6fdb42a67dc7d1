/* SPDX-License-Identifier: MIT */
/*
 * Client role, candidates, event-loop glue for one [client DEV] section:
 *  - this host's addresses from netlink (netlink-addr.c), so that a new
 *    address is registered without waiting a full interval;
 *  - registration of the own candidates at every registry reached through
 *    the tunnel (DNS UPDATE with a lease, renewed at half of it), and a
 *    query of this host's own entry there (its public address);
 *  - per stale peer, the query of its candidates and the path choice
 *    (client-candidates.c), the handshake kick after a candidate is put in
 *    place, and status and metrics.
 * client.c calls it from a few places; it never writes an endpoint itself.
 */
#ifndef WGSD_CLIENT_PATH_H
#define WGSD_CLIENT_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cand.h"
#include "key.h"

struct event_base;
struct resolver;
struct strbuf;
struct wg_ctx;
struct wg_device;
struct wg_peer;
struct config_client;
struct client_local;
struct client_path;
struct client_path_peer;

/* Create the glue of one section (cfg must outlive it: the section's own copy). NULL on ENOMEM. */
struct client_path *client_path_new(struct event_base *base, struct wg_ctx *wg, struct resolver *res,
				    const struct config_client *cfg);
/* Stop everything (no callbacks) and free. NULL is fine. */
void client_path_free(struct client_path *cp);

/*
 * Seam for port mapping: the router maps ep (NULL: no mapping any more) to
 * this device's listen port. Registered as this host's candidate of kind
 * CAND_MAPPED at once. 0, or -EINVAL for another kind or an unusable ep.
 */
int client_path_set_extra(struct client_path *cp, enum cand_kind kind, const union sockaddr_any *ep);

/*
 * A cycle's device reading: own key, listen port, interface, and which
 * registries are reached through the tunnel (inside a peer's allowed IPs).
 * Registers (or renews) where due and asks for this host's own entry.
 */
void client_path_cycle(struct client_path *cp, const struct wg_device *wd);
/* Monotonic ms when path choice needs the next cycle (a candidate's time runs out, still ahead), 0: no need. */
uint64_t client_path_next_ms(const struct client_path *cp);

/* Per-peer state, created with the client's peer and freed with it. NULL on ENOMEM. */
struct client_path_peer *client_path_peer_new(struct client_path *cp, const uint8_t key[WG_KEY_LEN]);
/* Cancel the peer's queries (no callbacks) and free. NULL is fine. */
void client_path_peer_free(struct client_path_peer *pp);
/* Cancel the peer's queries in flight (no callbacks). */
void client_path_peer_cancel(struct client_path_peer *pp);

/*
 * Start the query of the peer's candidates at registry number idx (with
 * the round's SRV query). Returns true when a query started; done(done_arg)
 * is then called once when it ends. Registries that refused our
 * registration, or a peer without a keepalive to produce handshakes, get none.
 */
bool client_path_query(struct client_path_peer *pp, size_t idx, int keepalive, void (*done)(void *),
		       void *done_arg);

enum client_path_choice {
	CLIENT_PATH_DEFAULT = 0,      /* write the registry's endpoint as without candidates */
	CLIENT_PATH_WAIT,             /* a candidate is being tried: write nothing, no backoff */
	CLIENT_PATH_WRITE,            /* write *ep (replaced by the candidate) */
};

/*
 * The round of a stale peer is complete: ep holds the registry's endpoint
 * (client_answer_choose()), device_ep the peer's current one, local the
 * endpoint checks. Says what to write.
 */
enum client_path_choice client_path_choose(struct client_path_peer *pp, union sockaddr_any *ep,
					   const union sockaddr_any *device_ep, const struct client_local *local);
/* The write decided by client_path_choose() was made: kick a handshake towards it (keepalive toggled). */
void client_path_written(struct client_path_peer *pp, int keepalive);
/*
 * For a relayed peer after a round (its look-up): the peer's candidates
 * ordered again with ep, the registry's endpoint (NULL: none), as in
 * client_path_choose(). Returns their digest with this host's public
 * endpoints (client_candidates_digest)
 * and, when there is one, the direct endpoint of try number turn in *out
 * (*have true).
 */
uint64_t client_path_direct(struct client_path_peer *pp, const union sockaddr_any *ep,
			    const struct client_local *local, unsigned int turn, union sockaddr_any *out, bool *have);
/* A direct endpoint was written for a relayed peer: kick a handshake towards it (as client_path_written). */
void client_path_kick(struct client_path_peer *pp, int keepalive);
/* True while the peer's candidate walk has something left to try (the relay waits for it). */
bool client_path_walking(const struct client_path_peer *pp);
/* The peer has a fresh handshake at ep: what worked is remembered, the round ends. */
void client_path_fresh(struct client_path_peer *pp, const union sockaddr_any *ep);

/* Append the section's candidate state as a JSON object (own candidates, registrations). */
void client_path_json(const struct client_path *cp, struct strbuf *out);
/* Append a peer's candidates as a JSON object: list, state of each, what is in use, what worked. */
void client_path_peer_json(const struct client_path_peer *pp, struct strbuf *out);
/*
 * Prometheus metrics, one family at a time so that the caller can group
 * the samples of every section under one HELP/TYPE head (written when head):
 * for (f = 0; f < CLIENT_PATH_METRIC_FAMILIES; f++) for each section ...
 */
#define CLIENT_PATH_METRIC_FAMILIES 4
void client_path_metrics(const struct client_path *cp, unsigned int family, const char *device, bool head,
			 struct strbuf *out);

#endif
