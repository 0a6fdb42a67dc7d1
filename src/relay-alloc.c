/* SPDX-License-Identifier: MIT */
/* One relay allocation: learning each side's address from verified handshakes, and forwarding. */
#include <string.h>

#include "relay-alloc.h"

#define HS_COST_MS (1000 / RELAY_HANDSHAKES_PER_S)

/* Start an allocation. */
void relay_alloc_init(struct relay_alloc *a, const uint8_t key0[WG_KEY_LEN], const uint8_t key1[WG_KEY_LEN],
		      uint64_t rate_bps, uint64_t now_ms)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->side[0].key, key0, WG_KEY_LEN);
	memcpy(a->side[1].key, key1, WG_KEY_LEN);
	for (int s = 0; s < 2; s++) {
		relay_wire_mac1_key(a->side[s].key, a->side[s].mac1_key);
		a->side[s].addr.sa.sa_family = AF_UNSPEC;
		a->side[s].cand.sa.sa_family = AF_UNSPEC;
		a->side[s].hs_credit_ms = (uint64_t)RELAY_HANDSHAKE_BURST * HS_COST_MS;
		a->side[s].hs_time_ms = now_ms;
	}
	relay_alloc_set_rate(a, rate_bps, now_ms);
}

/* Set the byte rate, credit full. */
void relay_alloc_set_rate(struct relay_alloc *a, uint64_t rate_bps, uint64_t now_ms)
{
	a->rate_bps = rate_bps;
	a->rate_credit = rate_bps + RELAY_RATE_BURST_EXTRA;
	a->rate_time_ms = now_ms;
}

/* Name of a verdict. */
const char *relay_alloc_verdict_name(enum relay_verdict v)
{
	static const char *const names[RELAY_VERDICT_MAX] = {
		[RELAY_FORWARD] = "forward",
		[RELAY_DROP_NOT_WIREGUARD] = "not_wireguard",
		[RELAY_DROP_BAD_MAC1] = "bad_mac1",
		[RELAY_DROP_UNVERIFIED] = "unverified_source",
		[RELAY_DROP_NO_PEER] = "peer_unknown",
		[RELAY_DROP_UNSOLICITED] = "unsolicited",
		[RELAY_DROP_REPLAY] = "replay",
		[RELAY_DROP_HANDSHAKE_RATE] = "handshake_rate",
		[RELAY_DROP_RATE] = "rate_limit",
	};

	return (unsigned int)v < RELAY_VERDICT_MAX ? names[v] : "?";
}

/* True when the address is set. */
static bool known(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6;
}

/* Take one handshake message from the side's bucket; false when it is empty. */
static bool handshake_take(struct relay_side *s, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)RELAY_HANDSHAKE_BURST * HS_COST_MS;

	if (now_ms > s->hs_time_ms) {
		s->hs_credit_ms += now_ms - s->hs_time_ms;
		s->hs_time_ms = now_ms;
	}
	if (s->hs_credit_ms > cap)
		s->hs_credit_ms = cap;
	if (s->hs_credit_ms < HS_COST_MS)
		return false;
	s->hs_credit_ms -= HS_COST_MS;
	return true;
}

/* Take len bytes from the allocation's rate bucket; false when over the rate. */
static bool rate_take(struct relay_alloc *a, size_t len, uint64_t now_ms)
{
	uint64_t cap = a->rate_bps + RELAY_RATE_BURST_EXTRA;

	if (!a->rate_bps)
		return true;
	if (now_ms > a->rate_time_ms) {
		uint64_t ms = now_ms - a->rate_time_ms;
		/* Cap first: ms * rate could overflow after a long pause. */
		uint64_t add = ms >= 1000 ? cap : ms * a->rate_bps / 1000;
		a->rate_credit = a->rate_credit + add > cap ? cap : a->rate_credit + add;
		a->rate_time_ms = now_ms;
	}
	if (a->rate_credit < len)
		return false;
	a->rate_credit -= len;
	return true;
}

/* The pending initiation of side s with this sender index (not expired), or NULL. */
static struct relay_pending *pending_find(struct relay_side *s, uint32_t index, uint64_t now_ms)
{
	for (int i = 0; i < RELAY_ALLOC_PENDING; i++) {
		struct relay_pending *p = &s->pending[i];
		if (p->at_ms && p->index == index && now_ms - p->at_ms < RELAY_PENDING_MS)
			return p;
	}
	return NULL;
}

/*
 * Remember an initiation of side s. One slot per source address: a sender
 * that floods initiations (an insider who knows the receiver's public key)
 * only replaces its own; when all are taken by live initiations from
 * other sources, the oldest goes, but never the one from the side's
 * confirmed address. WireGuard's own retry replaces the
 * previous attempt, whose response it would not accept anyway.
 */
static void pending_add(struct relay_side *s, uint32_t index, const union sockaddr_any *src, uint64_t now_ms)
{
	struct relay_pending *slot = NULL, *oldest = NULL;

	for (int i = 0; i < RELAY_ALLOC_PENDING && !slot; i++)
		if (s->pending[i].at_ms && addr_equal(&s->pending[i].src, src))
			slot = &s->pending[i];
	for (int i = 0; i < RELAY_ALLOC_PENDING && !slot; i++)
		if (!s->pending[i].at_ms || now_ms - s->pending[i].at_ms >= RELAY_PENDING_MS)
			slot = &s->pending[i];
	for (int i = 0; i < RELAY_ALLOC_PENDING && !slot; i++) {
		struct relay_pending *p = &s->pending[i];
		if (!addr_equal(&p->src, &s->addr) && (!oldest || p->at_ms < oldest->at_ms))
			oldest = p;
	}
	/* With one slot per source, at most one holds the confirmed address: oldest is found. */
	if (!slot)
		slot = oldest ? oldest : &s->pending[0];
	slot->at_ms = now_ms;
	slot->index = index;
	slot->src = *src;
}

/* A verified initiation from side j towards side i. */
static enum relay_verdict on_initiation(struct relay_side *sj, struct relay_side *si, const union sockaddr_any *src,
					const uint8_t *pkt, uint64_t now_ms, union sockaddr_any *to)
{
	uint32_t index = relay_wire_sender(pkt);
	struct relay_pending *p = pending_find(sj, index, now_ms);

	if (p && !addr_equal(&p->src, src))
		return RELAY_DROP_REPLAY;
	if (!p)
		pending_add(sj, index, src, now_ms);
	sj->cand = *src;
	sj->handshakes++;
	if (known(&si->addr))
		*to = si->addr;
	else if (known(&si->cand))
		*to = si->cand;
	else
		return RELAY_DROP_NO_PEER;
	return RELAY_FORWARD;
}

/* A verified response from side i to side j's pending initiation: both addresses are confirmed. */
static enum relay_verdict on_response(struct relay_side *si, struct relay_side *sj, const union sockaddr_any *src,
				      const uint8_t *pkt, uint64_t now_ms, union sockaddr_any *to)
{
	struct relay_pending *p = pending_find(sj, relay_wire_receiver(pkt, RELAY_WIRE_RESPONSE), now_ms);

	if (!p)
		return RELAY_DROP_UNSOLICITED;
	*to = p->src;
	sj->addr = p->src;
	si->addr = *src;
	si->handshakes++;
	p->at_ms = 0;   /* answered: a second response to it is unsolicited */
	return RELAY_FORWARD;
}

/* Data from side j's confirmed address goes to side i's. */
static enum relay_verdict between_confirmed(const struct relay_side *sj, const struct relay_side *si,
					   const union sockaddr_any *src, union sockaddr_any *to)
{
	if (!known(&sj->addr) || !addr_equal(src, &sj->addr))
		return RELAY_DROP_UNVERIFIED;
	if (!known(&si->addr))
		return RELAY_DROP_NO_PEER;
	*to = si->addr;
	return RELAY_FORWARD;
}

/* Decide what a datagram does. */
enum relay_verdict relay_alloc_input(struct relay_alloc *a, unsigned int from, const union sockaddr_any *src,
				     const uint8_t *pkt, size_t len, uint64_t now_ms, union sockaddr_any *to)
{
	struct relay_side *sj = &a->side[from & 1], *si = &a->side[!(from & 1)];
	enum relay_wire_msg type = relay_wire_classify(pkt, len);
	enum relay_verdict v = RELAY_DROP_NOT_WIREGUARD;
	struct relay_pending *p;

	if (!known(src))
		goto out;
	switch (type) {
	case RELAY_WIRE_INITIATION:
	case RELAY_WIRE_RESPONSE:
		/* The message is for the other side: its mac1 is keyed with that side's public key. */
		if (!relay_wire_mac1_ok(pkt, len, si->mac1_key)) {
			v = RELAY_DROP_BAD_MAC1;
			goto out;
		}
		/*
		 * Limited after the check, so that a scanner's packets (one BLAKE2s
		 * each, cheaper than the system call that read them) cannot use up a
		 * side's handshakes; only someone who knows the public key can.
		 */
		if (!handshake_take(sj, now_ms)) {
			v = RELAY_DROP_HANDSHAKE_RATE;
			goto out;
		}
		v = type == RELAY_WIRE_INITIATION ? on_initiation(sj, si, src, pkt, now_ms, to)
						  : on_response(sj, si, src, pkt, now_ms, to);
		break;
	case RELAY_WIRE_COOKIE:
		/*
		 * Under load, a responder answers an initiation with a cookie reply to
		 * its sender index, maybe before the relay knows the responder's
		 * address: one 64-byte datagram to where a verified initiation came
		 * from, and only for an index that only the initiation's path saw.
		 */
		p = pending_find(si, relay_wire_receiver(pkt, type), now_ms);
		if (p) {
			*to = p->src;
			v = RELAY_FORWARD;
		} else {
			v = between_confirmed(sj, si, src, to);
		}
		break;
	case RELAY_WIRE_DATA:
		v = between_confirmed(sj, si, src, to);
		break;
	case RELAY_WIRE_INVALID:
		break;
	}
	if (v == RELAY_FORWARD && !rate_take(a, len, now_ms))
		v = RELAY_DROP_RATE;
out:
	if (v == RELAY_FORWARD) {
		sj->packets++;
		sj->bytes += len;
		a->last_forward_ms = now_ms;
	} else {
		a->dropped[v]++;
	}
	return v;
}
