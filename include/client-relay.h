/* SPDX-License-Identifier: MIT */
/*
 * Client side of the relay: ask a registry for a relay between this device
 * and a peer (SRV <peer>.<self>._relay.ZONE, see dns-answer.h), read the
 * answer into the endpoint to set, and decide when a peer needs one. No
 * logging; the query runs on the caller's resolver.
 *
 * The policy (client_relay_step), per peer and cycle:
 *  - a stale peer whose endpoint stays the same for `after` ms (its direct
 *    endpoint was set and did not bring a handshake) gets a relay query,
 *    but only once the candidate walk (client-path.c) has nothing left to
 *    try: the relay is the last resort on each side. Asked while the walk
 *    was still on the registry's endpoint, the relay won the race against
 *    a mapped candidate tried next (the first handshake through the relay
 *    roams the other side there too, and a working relay is kept), so
 *    port-mapping routers ended relayed. The walk's candidates each get
 *    their own endpoint, which starts the `after` time again, so the time
 *    alone cannot say the walk is over: `walking` does;
 *  - once the relay endpoint is written the peer is left alone while the
 *    relay works: bytes arrive from the peer (its receive counter grew)
 *    within the last `after` ms, or 3 persistent keepalives if that is
 *    longer, and never less than CLIENT_RELAY_MIN_WINDOW_MS; the first
 *    window starts with the write (the other side needs time to switch
 *    too, and a WireGuard that still holds a session starts a new
 *    handshake only 15 s after its data goes unanswered, and the relay
 *    learns addresses only from handshakes). A handshake age alone cannot say this: a short
 *    handshake-timeout calls a working tunnel stale between rekeys, and
 *    the normal lookup would then write the (unusable) direct endpoint
 *    over the relay. Without bytes for that long, the normal lookup takes
 *    over again and the cycle repeats;
 *  - a failed query (no relay at the registry, SERVFAIL, timeout) waits
 *    `after` ms before the peer is timed again;
 *  - a peer with a working tunnel is never touched, except that one that
 *    works through the relay keeps looking for a direct path (issue 17):
 *    its records are looked up again (LOOK) at once and then every look
 *    interval (the caller's: a quarter of relay-retry, at least the
 *    client's interval), and a direct endpoint is tried
 *    (client_relay_look_done says whether) when the try is due or the
 *    answer changed since the last look (a new endpoint or candidate set:
 *    a NAT that became endpoint-independent, a new port mapping). The
 *    first try is due `retry` (relay-retry) after the relay was written,
 *    each failed one doubles the
 *    interval up to 8 x retry, a changed answer brings it back to retry.
 *    A try writes one direct endpoint (PROBING) and gives it `probe` ms,
 *    one handshake attempt: a handshake newer than the write, or bytes
 *    received after it, with an endpoint other than the relay (WireGuard
 *    follows the source of each authenticated packet; a session still
 *    valid moves to the new path without a handshake) moves the peer to
 *    direct (UPGRADED); otherwise the relay endpoint is written back
 *    (RESTORE). The other
 *    side keeps sending through the relay meanwhile, so WireGuard may roam
 *    the endpoint back to the relay by itself: the disruption is at most
 *    one handshake attempt.
 */
#ifndef WGSD_CLIENT_RELAY_H
#define WGSD_CLIENT_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "addr.h"
#include "key.h"

struct resolver;
struct client_relay_query;

/* WireGuard's KEEPALIVE_TIMEOUT + REKEY_TIMEOUT (15 s) and one handshake retry (5 s). */
#define CLIENT_RELAY_MIN_WINDOW_MS 20000

/* Write "<peer>.<self>._relay.ZONE" (labels upper-case padded base32) into out. 0 or -ENAMETOOLONG. */
int client_relay_qname(const uint8_t peer[WG_KEY_LEN], const uint8_t self[WG_KEY_LEN], const char *zone,
		       char *out, size_t len);
/*
 * Read a response to "SRV client_relay_qname(...)": the SRV owned by qname
 * with target _relay.ZONE and a port, and an A or AAAA of the target from
 * the answer or additional section (family_pref first when both exist;
 * AF_UNSPEC: IPv4 first). 0 with *out, or -ENOENT (NXDOMAIN: no relay there
 * or the peer is unknown), -EACCES (REFUSED), -EAGAIN (SERVFAIL: no
 * allocation now), -EBADMSG (anything else).
 */
int client_relay_parse(const ldns_pkt *pkt, const char *qname, const char *zone, int family_pref,
		       union sockaddr_any *out);

/* The outcome of client_relay_query(): err 0 with the endpoint, or a -errno as above or from the resolver. */
typedef void (*client_relay_cb)(int err, const union sockaddr_any *endpoint, void *arg);
/*
 * Ask registry for a relay between self and peer in zone on the resolver.
 * cb runs once, from the loop, unless the query is cancelled. NULL with
 * errno set when the query cannot start.
 */
struct client_relay_query *client_relay_query(struct resolver *res, const union sockaddr_any *registry,
					      const char *zone, const uint8_t self[WG_KEY_LEN],
					      const uint8_t peer[WG_KEY_LEN], int family_pref,
					      client_relay_cb cb, void *arg);
/* Cancel a query (NULL is fine); its callback is not called. */
void client_relay_cancel(struct client_relay_query *q);

enum client_relay_stage {
	CLIENT_RELAY_IDLE = 0,    /* nothing timed: fresh, or no endpoint */
	CLIENT_RELAY_WAITING,     /* stale at `endpoint` since `since_ms` */
	CLIENT_RELAY_ASKING,      /* a relay query or its write is in progress */
	CLIENT_RELAY_RELAYED,     /* the relay endpoint was written at `since_ms` */
	CLIENT_RELAY_FAILED,      /* the last query failed at `since_ms` (err) */
	CLIENT_RELAY_PROBING,     /* relayed, a direct endpoint (`probe`) written at `since_ms` is being tried */
};

/* One peer's relay state. */
struct client_relay_peer {
	enum client_relay_stage stage;
	uint64_t since_ms;
	union sockaddr_any endpoint;   /* WAITING: the endpoint being timed */
	union sockaddr_any relay;      /* the relay endpoint last obtained */
	int err;                       /* FAILED: why */
	bool rx_known;                 /* WAITING, RELAYED: rx_bytes holds a reading */
	uint64_t rx_bytes;             /* WAITING, RELAYED: the peer's receive counter at rx_change_ms */
	uint64_t rx_change_ms;         /* WAITING, RELAYED: when it last grew (a relay write counts as growth) */
	/* The way back to direct while relayed (0: not relayed since the last direct path). */
	uint64_t retry_ms;             /* the interval before the next direct try */
	uint64_t next_try_ms;          /* when a direct try is due */
	uint64_t next_look_ms;         /* when the peer's records are looked up again */
	uint64_t answer_digest;        /* of the answer at the last look (answer_known) */
	bool answer_known;
	union sockaddr_any probe;      /* PROBING: the direct endpoint being tried */
	int64_t probe_wall_s;          /* PROBING: wall clock of its write (a handshake at or after it counts) */
	uint64_t probe_rx;             /* PROBING: the receive counter just before the write */
	unsigned int tries;            /* direct tries since relayed (which candidate is next) */
	uint64_t upgrades;             /* moves from the relay to a direct path */
};

/* What a cycle's device reading says about a peer. */
struct client_relay_input {
	bool stale;                          /* no fresh handshake (a candidate for lookup) */
	const union sockaddr_any *endpoint;  /* current endpoint (AF_UNSPEC: none) */
	uint64_t rx_bytes;                   /* bytes received from the peer */
	unsigned int keepalive_s;            /* its persistent keepalive, 0: off */
	uint64_t now_ms;                     /* monotonic */
	unsigned int after_ms;               /* relay-after */
	bool walking;                        /* the candidate walk still has one to try (client_candidates_walking) */
	unsigned int retry_ms;               /* relay-retry, 0: never try direct while relayed */
	unsigned int probe_ms;               /* a direct try's time (candidate-timeout) */
	int64_t handshake_s;                 /* the peer's last handshake, wall clock s (0: never) */
};

enum client_relay_action {
	CLIENT_RELAY_NONE = 0,    /* the normal lookup runs */
	CLIENT_RELAY_ASK,         /* start a relay query now (the stage is ASKING) */
	CLIENT_RELAY_HOLD,        /* leave the peer alone this cycle */
	CLIENT_RELAY_LOOK,        /* relayed: look its records up, then client_relay_look_done() */
	CLIENT_RELAY_UPGRADED,    /* the direct try brought a handshake: direct now (stage IDLE) */
	CLIENT_RELAY_RESTORE,     /* the direct try failed: write the relay endpoint back (stage ASKING) */
};

/* Advance a peer's state for this cycle. */
enum client_relay_action client_relay_step(struct client_relay_peer *rp, const struct client_relay_input *in);
/* The relay endpoint ep was written (or was already the endpoint). */
void client_relay_written(struct client_relay_peer *rp, const union sockaddr_any *ep, uint64_t now_ms);
/*
 * A LOOK's answer: digest of what may be tried directly (0: no answer);
 * the next look is due look_ms later. True when a direct endpoint is to be
 * tried now (the caller writes it and calls client_relay_probing()).
 */
bool client_relay_look_done(struct client_relay_peer *rp, uint64_t digest, uint64_t now_ms, uint64_t look_ms,
			    unsigned int retry_ms);
/* The direct endpoint ep was written for a try at now_ms (wall clock now_s); rx_bytes: the reading just before. */
void client_relay_probing(struct client_relay_peer *rp, const union sockaddr_any *ep, uint64_t now_ms, int64_t now_s,
			  uint64_t rx_bytes);
/* The query failed with err, or its write did not happen (err 0): wait before timing again. */
void client_relay_failed(struct client_relay_peer *rp, int err, uint64_t now_ms);
/* Why a relay query failed, in words ("the registry has no relay or does not know the peer (NXDOMAIN)", ...). */
const char *client_relay_strerror(int err);
/* Short name of a stage: "idle", "waiting", "asking", "relayed", "failed", "probing". */
const char *client_relay_stage_name(enum client_relay_stage s);

#endif
