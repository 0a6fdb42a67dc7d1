/* SPDX-License-Identifier: MIT */
/*
 * One relay allocation: two peers (sides 0 and 1), each sending to a port
 * of its own on the relay, and what a datagram arriving at one side's port
 * does. Pure: no sockets, no clock, no logging; relay.c owns the sockets.
 *
 * Where a side is (its NAT's mapping towards the relay) is learnt only from
 * WireGuard handshake messages whose mac1 verifies against the OTHER
 * side's public key (the message's receiver), and is confirmed only by the
 * exchange completing:
 *  - a verified initiation from side j records its sender index and source
 *    as pending (and the source as j's candidate address) and is forwarded
 *    to side i's confirmed address, or while there is none to i's
 *    candidate;
 *  - a verified response from side i must answer a pending initiation of
 *    side j (its receiver index): it goes to that initiation's source, and
 *    both sources become the sides' confirmed addresses. The responder
 *    checked the initiation's static key and timestamp, so a replayed or
 *    forged initiation never gets this far; a response to no pending
 *    initiation (or to one answered already) is dropped;
 *  - an initiation whose sender index is pending from another source is a
 *    replay and dropped;
 *  - transport data is forwarded only from a side's confirmed address to
 *    the other's; a cookie reply goes to the source of the pending
 *    initiation it answers (its receiver index), otherwise it is treated
 *    like data.
 * A packet with a bad mac1, from a scanner or a spoofed address, therefore
 * never changes where the relay sends. Every forwarded datagram is the
 * received one, byte for byte: one out per one in, never more bytes.
 *
 * Limits: verified handshake messages per side (after the mac1 check, so
 * that packets from anyone who does not know the public keys cannot use
 * them up), and an optional byte rate per allocation (both directions).
 */
#ifndef WGSD_RELAY_ALLOC_H
#define WGSD_RELAY_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "key.h"
#include "relay-wire.h"

#define RELAY_ALLOC_PENDING 4          /* initiations per side waiting for their response (one per source) */
#define RELAY_PENDING_MS 10000         /* how long (WireGuard retries every 5 s with a new index) */
#define RELAY_HANDSHAKES_PER_S 20      /* handshake messages per side and second... */
#define RELAY_HANDSHAKE_BURST 20       /* ...with bursts of this many */
#define RELAY_RATE_BURST_EXTRA 65536   /* bytes a rate-limited allocation may send above one second's worth */

/* What happened to a datagram. */
enum relay_verdict {
	RELAY_FORWARD = 0,
	RELAY_DROP_NOT_WIREGUARD,   /* not a WireGuard message (type, reserved bytes, length) */
	RELAY_DROP_BAD_MAC1,        /* handshake message whose mac1 does not verify */
	RELAY_DROP_UNVERIFIED,      /* data or cookie reply from an address no verified handshake confirmed */
	RELAY_DROP_NO_PEER,         /* the other side's address is not known yet */
	RELAY_DROP_UNSOLICITED,     /* response (or cookie reply) to no pending initiation */
	RELAY_DROP_REPLAY,          /* initiation whose index is pending from another address */
	RELAY_DROP_HANDSHAKE_RATE,  /* more verified handshake messages than RELAY_HANDSHAKES_PER_S */
	RELAY_DROP_RATE,            /* over the allocation's byte rate */
	RELAY_VERDICT_MAX,
};

struct relay_pending {
	uint64_t at_ms;                /* 0: free slot */
	uint32_t index;                /* the initiation's sender index */
	union sockaddr_any src;
};

struct relay_side {
	uint8_t key[WG_KEY_LEN];                       /* the peer on this side */
	uint8_t mac1_key[RELAY_WIRE_MAC1_KEY_LEN];     /* mac1 key of messages sent TO this side */
	union sockaddr_any addr;       /* confirmed by a completed handshake; AF_UNSPEC: none */
	union sockaddr_any cand;       /* source of the latest verified initiation; AF_UNSPEC: none */
	struct relay_pending pending[RELAY_ALLOC_PENDING];   /* one per source address */
	uint64_t hs_credit_ms;         /* token bucket of handshake messages, in milliseconds of credit */
	uint64_t hs_time_ms;
	uint64_t packets;              /* forwarded from this side */
	uint64_t bytes;
	uint64_t handshakes;           /* verified handshake messages from this side */
};

struct relay_alloc {
	struct relay_side side[2];
	uint64_t rate_bps;             /* bytes per second, both directions; 0: no limit */
	uint64_t rate_credit;          /* bytes */
	uint64_t rate_time_ms;
	uint64_t last_forward_ms;      /* 0: nothing forwarded yet */
	uint64_t dropped[RELAY_VERDICT_MAX];
};

/* Start an allocation between key0 (side 0) and key1 (side 1); rate_bps 0 = unlimited. */
void relay_alloc_init(struct relay_alloc *a, const uint8_t key0[WG_KEY_LEN], const uint8_t key1[WG_KEY_LEN],
		      uint64_t rate_bps, uint64_t now_ms);
/* Change the byte rate (a reload); the credit starts full. */
void relay_alloc_set_rate(struct relay_alloc *a, uint64_t rate_bps, uint64_t now_ms);
/*
 * A datagram of len bytes from src arrived at side `from`'s port at now_ms
 * (monotonic, > 0). RELAY_FORWARD: send it unchanged from the other side's
 * port to *to. Otherwise the reason it is dropped (also counted in
 * a->dropped). State changes as the header comment says.
 */
enum relay_verdict relay_alloc_input(struct relay_alloc *a, unsigned int from, const union sockaddr_any *src,
				     const uint8_t *pkt, size_t len, uint64_t now_ms, union sockaddr_any *to);
/* Short name of a verdict for status and metrics ("forward", "not_wireguard", ...). */
const char *relay_alloc_verdict_name(enum relay_verdict v);

#endif
