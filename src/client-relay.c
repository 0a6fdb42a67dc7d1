/* SPDX-License-Identifier: MIT */
/* Client side of the relay: the query name, its answer, the query itself, and when to ask. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "client-relay.h"
#include "config.h"
#include "resolver.h"

/* A relay query in flight. */
struct client_relay_query {
	struct resolver_query *q;
	char qname[DNAME_STRLEN + 128];
	char zone[DNAME_STRLEN];
	int family_pref;
	client_relay_cb cb;
	void *arg;
};

/* The pair's name. */
int client_relay_qname(const uint8_t peer[WG_KEY_LEN], const uint8_t self[WG_KEY_LEN], const char *zone,
		       char *out, size_t len)
{
	char bp[KEY_B32_LEN + 1], bs[KEY_B32_LEN + 1];
	size_t zl = strlen(zone);
	int n;

	key_to_base32(peer, bp);
	key_to_base32(self, bs);
	n = snprintf(out, len, "%s.%s._relay.%s%s", bp, bs, zone, zl && zone[zl - 1] == '.' ? "" : ".");
	/* 121 bytes of labels before the zone; a name holds 253 characters (255 bytes of wire form). */
	if (n < 0 || (size_t)n >= len || n > 254)
		return -ENAMETOOLONG;
	return 0;
}

/* A presentation name as a canonical (lower-case) dname rdf, or NULL. */
static ldns_rdf *dname_of(const char *text)
{
	ldns_rdf *r = NULL;

	if (ldns_str2rdf_dname(&r, text) != LDNS_STATUS_OK)
		return NULL;
	ldns_dname2canonical(r);
	return r;
}

/* True when two dnames are equal ignoring case. */
static bool dname_same(const ldns_rdf *a, const ldns_rdf *b)
{
	ldns_rdf *ca = ldns_rdf_clone(a), *cb = ldns_rdf_clone(b);
	bool eq = false;

	if (ca && cb) {
		ldns_dname2canonical(ca);
		ldns_dname2canonical(cb);
		eq = ldns_dname_compare(ca, cb) == 0;
	}
	ldns_rdf_deep_free(ca);
	ldns_rdf_deep_free(cb);
	return eq;
}

/* Find an address record of family owned by target in the answer and additional sections. */
static bool find_addr(const ldns_pkt *pkt, const ldns_rdf *target, int family, uint16_t port, union sockaddr_any *out)
{
	const ldns_rr_list *sections[2] = { ldns_pkt_answer(pkt), ldns_pkt_additional(pkt) };
	ldns_rr_type want = family == AF_INET ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
	size_t alen = family == AF_INET ? 4 : 16;

	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < ldns_rr_list_rr_count(sections[s]); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(sections[s], i);
			const ldns_rdf *rd = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
			if (ldns_rr_get_type(rr) != want || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !rd ||
			    ldns_rdf_size(rd) != alen || !dname_same(ldns_rr_owner(rr), target))
				continue;
			memset(out, 0, sizeof(*out));
			if (family == AF_INET) {
				out->in.sin_family = AF_INET;
				memcpy(&out->in.sin_addr, ldns_rdf_data(rd), 4);
				out->in.sin_port = htons(port);
			} else {
				out->in6.sin6_family = AF_INET6;
				memcpy(&out->in6.sin6_addr, ldns_rdf_data(rd), 16);
				out->in6.sin6_port = htons(port);
			}
			return true;
		}
	return false;
}

/* Read the relay endpoint from a response. */
int client_relay_parse(const ldns_pkt *pkt, const char *qname, const char *zone, int family_pref,
		       union sockaddr_any *out)
{
	char target_text[DNAME_STRLEN + 16];
	ldns_rdf *want_owner = NULL, *want_target = NULL;
	const ldns_rr *srv = NULL;
	const ldns_rr_list *answer = ldns_pkt_answer(pkt);
	size_t zl = strlen(zone);
	int ret = -EBADMSG;

	switch (ldns_pkt_get_rcode(pkt)) {
	case LDNS_RCODE_NOERROR:
		break;
	case LDNS_RCODE_NXDOMAIN:
		return -ENOENT;
	case LDNS_RCODE_REFUSED:
		return -EACCES;
	case LDNS_RCODE_SERVFAIL:
		return -EAGAIN;
	default:
		return -EBADMSG;
	}
	snprintf(target_text, sizeof(target_text), "_relay.%s%s", zone, zl && zone[zl - 1] == '.' ? "" : ".");
	want_owner = dname_of(qname);
	want_target = dname_of(target_text);
	if (!want_owner || !want_target)
		goto out;
	for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SRV && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
		    ldns_rr_rd_count(rr) == 4 && dname_same(ldns_rr_owner(rr), want_owner)) {
			srv = rr;
			break;
		}
	}
	if (!srv || ldns_rdf_get_type(ldns_rr_rdf(srv, 3)) != LDNS_RDF_TYPE_DNAME ||
	    !dname_same(ldns_rr_rdf(srv, 3), want_target))
		goto out;
	uint16_t port = ldns_rdf2native_int16(ldns_rr_rdf(srv, 2));
	if (port == 0)
		goto out;
	int first = family_pref == AF_INET6 ? AF_INET6 : AF_INET;
	int second = first == AF_INET ? AF_INET6 : AF_INET;
	if (find_addr(pkt, want_target, first, port, out) || find_addr(pkt, want_target, second, port, out))
		ret = addr_endpoint_check(out) == ADDR_EP_OK ? 0 : -EBADMSG;
out:
	ldns_rdf_deep_free(want_owner);
	ldns_rdf_deep_free(want_target);
	return ret;
}

/* The resolver's answer arrived. */
static void query_cb(const struct resolver_result *res, void *arg)
{
	struct client_relay_query *q = arg;
	union sockaddr_any ep;
	int err = res->err;

	memset(&ep, 0, sizeof(ep));
	if (!err)
		err = client_relay_parse(res->pkt, q->qname, q->zone, q->family_pref, &ep);
	q->q = NULL;
	q->cb(err, err ? NULL : &ep, q->arg);
	free(q);
}

/* Start a relay query. */
struct client_relay_query *client_relay_query(struct resolver *res, const union sockaddr_any *registry,
					      const char *zone, const uint8_t self[WG_KEY_LEN],
					      const uint8_t peer[WG_KEY_LEN], int family_pref,
					      client_relay_cb cb, void *arg)
{
	struct client_relay_query *q = calloc(1, sizeof(*q));

	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	if (client_relay_qname(peer, self, zone, q->qname, sizeof(q->qname)) < 0 ||
	    strlen(zone) >= sizeof(q->zone)) {
		free(q);
		errno = ENAMETOOLONG;
		return NULL;
	}
	snprintf(q->zone, sizeof(q->zone), "%s", zone);
	q->family_pref = family_pref;
	q->cb = cb;
	q->arg = arg;
	q->q = resolver_query(res, registry, q->qname, LDNS_RR_TYPE_SRV, query_cb, q);
	if (!q->q) {
		int e = errno;
		free(q);
		errno = e;
		return NULL;
	}
	return q;
}

/* Cancel a query. */
void client_relay_cancel(struct client_relay_query *q)
{
	if (!q)
		return;
	resolver_cancel(q->q);
	free(q);
}

/* True when the address is set. */
static bool known(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6;
}

/* True while bytes keep arriving from a relayed peer (the window starts with the write). */
static bool relay_alive(struct client_relay_peer *rp, const struct client_relay_input *in)
{
	uint64_t window = in->after_ms, ka = (uint64_t)in->keepalive_s * 3000;

	if (ka > window)
		window = ka;
	if (window < CLIENT_RELAY_MIN_WINDOW_MS)
		window = CLIENT_RELAY_MIN_WINDOW_MS;

	if (!rp->rx_known || in->rx_bytes != rp->rx_bytes) {
		if (rp->rx_known)
			rp->rx_change_ms = in->now_ms;
		rp->rx_known = true;
		rp->rx_bytes = in->rx_bytes;
	}
	return in->now_ms - rp->rx_change_ms < window;
}

/* Forget the way back to direct (not relayed any more, or direct again). */
static void retry_reset(struct client_relay_peer *rp)
{
	rp->retry_ms = 0;
	rp->next_try_ms = 0;
	rp->next_look_ms = 0;
	rp->answer_known = false;
	rp->tries = 0;
}

/* A direct try: it worked (UPGRADED), has time left (HOLD), or is over (RESTORE, the backoff doubled). */
static enum client_relay_action probe_step(struct client_relay_peer *rp, const struct client_relay_input *in)
{
	const union sockaddr_any *ep = in->endpoint;
	uint64_t cap = (uint64_t)in->retry_ms * 8;
	bool got = in->rx_bytes != rp->probe_rx;

	/*
	 * Success is a handshake newer than the write, or bytes received since
	 * it (probe_rx is the reading just before the write), with the endpoint
	 * still direct: WireGuard sets the endpoint to the source of every
	 * authenticated packet, so a direct endpoint after new bytes means the
	 * last one came directly. A session that is still valid carries on
	 * over the new path without a handshake: the bytes are what tells.
	 */
	if (((in->handshake_s > 0 && in->handshake_s >= rp->probe_wall_s) || got) && known(ep) &&
	    !addr_same_endpoint(ep, &rp->relay)) {
		rp->stage = CLIENT_RELAY_IDLE;
		rp->upgrades++;
		retry_reset(rp);
		return CLIENT_RELAY_UPGRADED;
	}
	if (in->now_ms - rp->since_ms < in->probe_ms)
		return CLIENT_RELAY_HOLD;
	rp->retry_ms = rp->retry_ms ? rp->retry_ms * 2 : in->retry_ms;
	if (rp->retry_ms > cap)
		rp->retry_ms = cap;
	rp->next_try_ms = in->now_ms + rp->retry_ms;
	rp->stage = CLIENT_RELAY_ASKING;
	rp->since_ms = in->now_ms;
	return CLIENT_RELAY_RESTORE;
}

/* Advance the state of one peer for this cycle. */
enum client_relay_action client_relay_step(struct client_relay_peer *rp, const struct client_relay_input *in)
{
	const union sockaddr_any *ep = in->endpoint;

	switch (rp->stage) {
	case CLIENT_RELAY_ASKING:
		return CLIENT_RELAY_HOLD;
	case CLIENT_RELAY_PROBING:
		return probe_step(rp, in);
	case CLIENT_RELAY_RELAYED:
		/* Working through the relay, or still being given time to: the normal lookup stays away. */
		if (known(ep) && addr_same_endpoint(ep, &rp->relay) && relay_alive(rp, in)) {
			if (in->retry_ms) {
				if (!rp->retry_ms) {
					rp->retry_ms = in->retry_ms;
					rp->next_try_ms = rp->since_ms + in->retry_ms;
				}
				if (in->now_ms >= rp->next_look_ms)
					return CLIENT_RELAY_LOOK;
			}
			return in->stale ? CLIENT_RELAY_HOLD : CLIENT_RELAY_NONE;
		}
		/*
		 * WireGuard roamed to a direct path (the other side's try worked, or
		 * ours late): direct again, when a handshake is fresh or bytes still
		 * arrive there (the last authenticated packet came from there).
		 */
		if (known(ep) && !addr_same_endpoint(ep, &rp->relay) &&
		    (!in->stale || (rp->rx_known && in->rx_bytes != rp->rx_bytes))) {
			rp->stage = CLIENT_RELAY_IDLE;
			rp->upgrades++;
			retry_reset(rp);
			return CLIENT_RELAY_UPGRADED;
		}
		break;
	case CLIENT_RELAY_FAILED:
		if (in->stale && in->now_ms - rp->since_ms < in->after_ms)
			return CLIENT_RELAY_NONE;
		break;
	case CLIENT_RELAY_IDLE:
	case CLIENT_RELAY_WAITING:
		break;
	}
	if (!in->stale || !known(ep)) {
		/* A relayed peer with a fresh handshake at the relay stays relayed. */
		if (rp->stage != CLIENT_RELAY_RELAYED || !known(ep) || !addr_same_endpoint(ep, &rp->relay)) {
			rp->stage = CLIENT_RELAY_IDLE;
			retry_reset(rp);
		}
		return CLIENT_RELAY_NONE;
	}
	if (rp->stage != CLIENT_RELAY_WAITING || !addr_same_endpoint(ep, &rp->endpoint)) {
		/* A new endpoint (the normal lookup wrote it, or WireGuard learnt it): time it from now. */
		rp->stage = CLIENT_RELAY_WAITING;
		retry_reset(rp);
		rp->since_ms = in->now_ms;
		rp->endpoint = *ep;
		rp->rx_known = false;
		rp->rx_change_ms = 0;
		(void)relay_alive(rp, in);   /* the first reading of the receive counter */
		return CLIENT_RELAY_NONE;
	}
	/*
	 * Bytes still arriving at the direct endpoint: the path works even though
	 * its handshake is older than handshake-timeout (WireGuard re-handshakes
	 * only every two minutes). Never trade a working path for the relay.
	 */
	if (relay_alive(rp, in)) {
		rp->since_ms = in->now_ms;
		return CLIENT_RELAY_NONE;
	}
	if (in->now_ms - rp->since_ms < in->after_ms || in->walking)
		return CLIENT_RELAY_NONE;
	rp->stage = CLIENT_RELAY_ASKING;
	rp->since_ms = in->now_ms;
	return CLIENT_RELAY_ASK;
}

/* The relay endpoint is set. */
void client_relay_written(struct client_relay_peer *rp, const union sockaddr_any *ep, uint64_t now_ms)
{
	rp->stage = CLIENT_RELAY_RELAYED;
	rp->since_ms = now_ms;
	rp->relay = *ep;
	rp->err = 0;
	rp->rx_known = false;
	rp->rx_change_ms = now_ms;
}

/* A relayed peer's records were looked up: try a direct endpoint now or not. */
bool client_relay_look_done(struct client_relay_peer *rp, uint64_t digest, uint64_t now_ms, uint64_t look_ms,
			    unsigned int retry_ms)
{
	bool changed = rp->answer_known && digest != rp->answer_digest;

	rp->next_look_ms = now_ms + look_ms;
	if (rp->stage != CLIENT_RELAY_RELAYED || !digest)
		return false;
	rp->answer_known = true;
	rp->answer_digest = digest;
	if (changed) {
		/* New information (an endpoint, a mapping): worth a try at once, and the backoff starts over. */
		rp->retry_ms = retry_ms;
		return true;
	}
	return now_ms >= rp->next_try_ms;
}

/* A direct endpoint was written for a try. */
void client_relay_probing(struct client_relay_peer *rp, const union sockaddr_any *ep, uint64_t now_ms, int64_t now_s,
			  uint64_t rx_bytes)
{
	rp->stage = CLIENT_RELAY_PROBING;
	rp->since_ms = now_ms;
	rp->probe = *ep;
	rp->probe_wall_s = now_s;
	rp->probe_rx = rx_bytes;
	rp->tries++;
}

/* The query failed or its write was skipped. */
void client_relay_failed(struct client_relay_peer *rp, int err, uint64_t now_ms)
{
	rp->stage = CLIENT_RELAY_FAILED;
	rp->since_ms = now_ms;
	rp->err = err;
}

/* Why a query failed. */
const char *client_relay_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "the registry has no relay or does not know the peer (NXDOMAIN)";
	case -EACCES:
		return "the registry refused (the query must come through the tunnel from this device's own address)";
	case -EAGAIN:
		return "the registry has no relay allocation to spare (SERVFAIL)";
	case -EBADMSG:
		return "the answer has no usable relay address";
	case -ETIMEDOUT:
		return "no answer from the registry";
	default:
		return strerror(-err);
	}
}

/* Name of a stage. */
const char *client_relay_stage_name(enum client_relay_stage s)
{
	static const char *const names[] = { "idle", "waiting", "asking", "relayed", "failed", "probing" };

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
