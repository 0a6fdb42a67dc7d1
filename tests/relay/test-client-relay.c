/* SPDX-License-Identifier: MIT */
/* client-relay: the query name, reading the answer, and when a peer gets a relay query. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "check.h"
#include "client-relay.h"

static uint8_t kp[WG_KEY_LEN], ks[WG_KEY_LEN];
static char qname[400];

/* A response with rcode and the given records ("an:" or "ad:" prefix picks the section). */
static ldns_pkt *response(ldns_pkt_rcode rcode, const char *const *rrs)
{
	ldns_pkt *p = ldns_pkt_new();

	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (; rrs && *rrs; rrs++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, *rrs + 3, 0, NULL, NULL) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_push_rr(p, strncmp(*rrs, "an:", 3) == 0 ? LDNS_SECTION_ANSWER : LDNS_SECTION_ADDITIONAL, rr);
	}
	return p;
}

/* Parse a response built from records; returns the result and the endpoint text in ep. */
static int parse(ldns_pkt_rcode rcode, const char *const *rrs, int pref, char *ep, size_t len)
{
	union sockaddr_any a;
	ldns_pkt *p = response(rcode, rrs);
	int r = client_relay_parse(p, qname, "example.com.", pref, &a);

	if (r == 0)
		addr_format(&a, ep, len);
	else
		snprintf(ep, len, "-");
	ldns_pkt_free(p);
	return r;
}

/* The name: peer first, then self, both upper-case padded base32. */
static void test_qname(void)
{
	char b32p[KEY_B32_LEN + 1], b32s[KEY_B32_LEN + 1], want[400], zone[300];

	key_to_base32(kp, b32p);
	key_to_base32(ks, b32s);
	snprintf(want, sizeof(want), "%s.%s._relay.example.com.", b32p, b32s);
	CHECK(client_relay_qname(kp, ks, "example.com.", qname, sizeof(qname)) == 0);
	CHECK(strcmp(qname, want) == 0);
	char other[400];
	CHECK(client_relay_qname(kp, ks, "example.com", other, sizeof(other)) == 0 && strcmp(other, want) == 0);
	/* 121 bytes of labels leave 133 characters for the zone. */
	memset(zone, 'a', sizeof(zone));
	for (int i = 63; i < 133; i += 64)
		zone[i] = '.';
	zone[132] = '.';
	zone[133] = '\0';
	CHECK(client_relay_qname(kp, ks, zone, other, sizeof(other)) == 0);
	zone[133] = 'a';
	zone[134] = '.';
	zone[135] = '\0';
	CHECK(client_relay_qname(kp, ks, zone, other, sizeof(other)) == -ENAMETOOLONG);
	CHECK(client_relay_qname(kp, ks, "example.com.", other, 100) == -ENAMETOOLONG);
}

/* Answers: the SRV of the pair with target _relay.Z and an address of the target. */
static void test_parse(void)
{
	char srv[500], srv_other_target[500], srv_port0[500], srv_other_owner[500], ep[64];

	snprintf(srv, sizeof(srv), "an:%s 0 IN SRV 0 0 50001 _relay.example.com.", qname);
	snprintf(srv_other_target, sizeof(srv_other_target), "an:%s 0 IN SRV 0 0 50001 evil.example.net.", qname);
	snprintf(srv_port0, sizeof(srv_port0), "an:%s 0 IN SRV 0 0 0 _relay.example.com.", qname);
	snprintf(srv_other_owner, sizeof(srv_other_owner), "an:X.%s 0 IN SRV 0 0 50001 _relay.example.com.", qname);
	const char *const both[] = { srv, "ad:_relay.example.com. 0 IN A 203.0.113.4",
				     "ad:_relay.example.com. 0 IN AAAA 2001:db8::4", NULL };
	CHECK(parse(LDNS_RCODE_NOERROR, both, AF_UNSPEC, ep, sizeof(ep)) == 0 && strcmp(ep, "203.0.113.4:50001") == 0);
	CHECK(parse(LDNS_RCODE_NOERROR, both, AF_INET6, ep, sizeof(ep)) == 0 && strcmp(ep, "[2001:db8::4]:50001") == 0);
	const char *const v6[] = { srv, "ad:_RELAY.Example.COM. 0 IN AAAA 2001:db8::4", NULL };
	CHECK(parse(LDNS_RCODE_NOERROR, v6, AF_INET, ep, sizeof(ep)) == 0 && strcmp(ep, "[2001:db8::4]:50001") == 0);
	/* The rcodes a registry answers with. */
	CHECK(parse(LDNS_RCODE_NXDOMAIN, NULL, AF_UNSPEC, ep, sizeof(ep)) == -ENOENT);
	CHECK(parse(LDNS_RCODE_REFUSED, NULL, AF_UNSPEC, ep, sizeof(ep)) == -EACCES);
	CHECK(parse(LDNS_RCODE_SERVFAIL, NULL, AF_UNSPEC, ep, sizeof(ep)) == -EAGAIN);
	CHECK(parse(LDNS_RCODE_FORMERR, NULL, AF_UNSPEC, ep, sizeof(ep)) == -EBADMSG);
	CHECK(parse(LDNS_RCODE_NOERROR, NULL, AF_UNSPEC, ep, sizeof(ep)) == -EBADMSG);
	/* Inconsistent answers are not used. */
	const char *const other_target[] = { srv_other_target, "ad:evil.example.net. 0 IN A 192.0.2.66", NULL };
	CHECK(parse(LDNS_RCODE_NOERROR, other_target, AF_UNSPEC, ep, sizeof(ep)) == -EBADMSG);
	const char *const port0[] = { srv_port0, "ad:_relay.example.com. 0 IN A 203.0.113.4", NULL };
	CHECK(parse(LDNS_RCODE_NOERROR, port0, AF_UNSPEC, ep, sizeof(ep)) == -EBADMSG);
	const char *const other_owner[] = { srv_other_owner, "ad:_relay.example.com. 0 IN A 203.0.113.4", NULL };
	CHECK(parse(LDNS_RCODE_NOERROR, other_owner, AF_UNSPEC, ep, sizeof(ep)) == -EBADMSG);
	const char *const no_addr[] = { srv, "ad:other.example.com. 0 IN A 203.0.113.4", NULL };
	CHECK(parse(LDNS_RCODE_NOERROR, no_addr, AF_UNSPEC, ep, sizeof(ep)) == -EBADMSG);
	const char *const loopback[] = { srv, "ad:_relay.example.com. 0 IN A 127.0.0.1", NULL };
	CHECK(parse(LDNS_RCODE_NOERROR, loopback, AF_UNSPEC, ep, sizeof(ep)) == -EBADMSG);
}

/* Set an address. */
static union sockaddr_any addr(const char *text)
{
	union sockaddr_any a;

	if (addr_parse(text, -1, &a) < 0)
		abort();
	return a;
}

static unsigned int keepalive_s;

/* One cycle's step for a peer. */
static enum client_relay_action step(struct client_relay_peer *rp, bool stale, const union sockaddr_any *ep,
				     uint64_t rx, uint64_t now)
{
	struct client_relay_input in = {
		.stale = stale, .endpoint = ep, .rx_bytes = rx, .keepalive_s = keepalive_s, .now_ms = now,
		.after_ms = 30000,
	};

	return client_relay_step(rp, &in);
}

/* When a peer gets a relay query, and how long the relay is given. */
static void test_policy(void)
{
	struct client_relay_peer rp;
	union sockaddr_any none, direct = addr("198.51.100.2:40001"), direct2 = addr("198.51.100.2:40777");
	union sockaddr_any relay = addr("203.0.113.4:50001");
	const uint64_t after = 30000;

	memset(&rp, 0, sizeof(rp));
	memset(&none, 0, sizeof(none));
	/* No endpoint yet, or fresh: nothing is timed. */
	CHECK(step(&rp, true, &none, 0, 1000) == CLIENT_RELAY_NONE && rp.stage == CLIENT_RELAY_IDLE);
	CHECK(step(&rp, false, &direct, 0, 1000) == CLIENT_RELAY_NONE && rp.stage == CLIENT_RELAY_IDLE);
	/* Stale at its direct endpoint: timed from the first cycle that sees it. */
	CHECK(step(&rp, true, &direct, 0, 2000) == CLIENT_RELAY_NONE && rp.stage == CLIENT_RELAY_WAITING);
	CHECK(step(&rp, true, &direct, 0, 2000 + after - 1) == CLIENT_RELAY_NONE);
	/* A new direct endpoint starts the time again. */
	CHECK(step(&rp, true, &direct2, 0, 2000 + after) == CLIENT_RELAY_NONE);
	CHECK(step(&rp, true, &direct2, 0, 2000 + 2 * after - 1) == CLIENT_RELAY_NONE);
	CHECK(step(&rp, true, &direct2, 0, 2000 + 2 * after) == CLIENT_RELAY_ASK);
	CHECK(rp.stage == CLIENT_RELAY_ASKING);
	/* While asking, the normal lookup holds off. */
	CHECK(step(&rp, true, &direct2, 0, 2000 + 2 * after + 5) == CLIENT_RELAY_HOLD);

	/*
	 * A working direct path whose handshake is merely old (a short
	 * handshake-timeout): bytes keep arriving, so no relay is asked, however
	 * long; once they stop for the window, it is.
	 */
	{
		struct client_relay_peer w;
		uint64_t t0 = 500000, k;

		memset(&w, 0, sizeof(w));
		CHECK(step(&w, true, &direct, 100, t0) == CLIENT_RELAY_NONE && w.stage == CLIENT_RELAY_WAITING);
		for (k = 1; k <= 20; k++)
			CHECK(step(&w, true, &direct, 100 + k, t0 + k * (after / 2)) == CLIENT_RELAY_NONE);
		CHECK(w.stage == CLIENT_RELAY_WAITING);
		k = t0 + 20 * (after / 2);
		CHECK(step(&w, true, &direct, 120, k + after - 1) == CLIENT_RELAY_NONE);
		CHECK(step(&w, true, &direct, 120, k + 2 * after) == CLIENT_RELAY_ASK);
	}

	/* Written: the relay is given `after` to show traffic, then the normal lookup takes over. */
	CHECK(after >= CLIENT_RELAY_MIN_WINDOW_MS);
	uint64_t t = 100000;
	client_relay_written(&rp, &relay, t);
	CHECK(step(&rp, true, &relay, 500, t + 1) == CLIENT_RELAY_HOLD);
	CHECK(step(&rp, true, &relay, 500, t + after - 1) == CLIENT_RELAY_HOLD);
	CHECK(step(&rp, true, &relay, 500, t + after) == CLIENT_RELAY_NONE);
	CHECK(rp.stage == CLIENT_RELAY_WAITING);

	/* Bytes keep arriving: kept while stale by a short handshake-timeout, reported as relayed. */
	client_relay_written(&rp, &relay, t);
	CHECK(step(&rp, true, &relay, 1000, t + 1000) == CLIENT_RELAY_HOLD);
	for (uint64_t k = 1; k <= 10; k++)
		CHECK(step(&rp, true, &relay, 1000 + k, t + k * (after - 1)) == CLIENT_RELAY_HOLD);
	CHECK(rp.stage == CLIENT_RELAY_RELAYED);
	CHECK(step(&rp, false, &relay, 1011, t + 11 * after) == CLIENT_RELAY_NONE);
	CHECK(rp.stage == CLIENT_RELAY_RELAYED);
	/* The bytes stop (the relay went away): after `after` the normal lookup runs again. */
	CHECK(step(&rp, true, &relay, 1011, t + 12 * after - 1) == CLIENT_RELAY_HOLD);
	CHECK(step(&rp, true, &relay, 1011, t + 12 * after) == CLIENT_RELAY_NONE);
	CHECK(rp.stage == CLIENT_RELAY_WAITING);
	/* With a persistent keepalive of 25 s, the window is three of them (75 s > 30 s). */
	keepalive_s = 25;
	client_relay_written(&rp, &relay, t);
	CHECK(step(&rp, true, &relay, 7, t + 1) == CLIENT_RELAY_HOLD);
	CHECK(step(&rp, true, &relay, 7, t + 74999) == CLIENT_RELAY_HOLD);
	CHECK(step(&rp, true, &relay, 7, t + 75000) == CLIENT_RELAY_NONE);
	keepalive_s = 0;
	/* A short relay-after still gives WireGuard time for a new handshake. */
	client_relay_written(&rp, &relay, t);
	struct client_relay_input in = { .stale = true, .endpoint = &relay, .rx_bytes = 7, .now_ms = t + 1, .after_ms = 5000 };
	CHECK(client_relay_step(&rp, &in) == CLIENT_RELAY_HOLD);
	in.now_ms = t + CLIENT_RELAY_MIN_WINDOW_MS - 1;
	CHECK(client_relay_step(&rp, &in) == CLIENT_RELAY_HOLD);
	in.now_ms = t + CLIENT_RELAY_MIN_WINDOW_MS;
	CHECK(client_relay_step(&rp, &in) == CLIENT_RELAY_NONE);

	/* Working through the relay with a fresh handshake: left alone, still relayed. */
	client_relay_written(&rp, &relay, t);
	CHECK(step(&rp, false, &relay, 5, t + 10 * after) == CLIENT_RELAY_NONE);
	CHECK(rp.stage == CLIENT_RELAY_RELAYED);
	/* WireGuard roamed to a direct path (the other side's direct try worked): direct again, counted. */
	CHECK(step(&rp, false, &direct, 5, t + 11 * after) == CLIENT_RELAY_UPGRADED);
	CHECK(rp.stage == CLIENT_RELAY_IDLE && rp.upgrades == 1);
	CHECK(step(&rp, false, &direct, 5, t + 12 * after) == CLIENT_RELAY_NONE && rp.upgrades == 1);
	/* A failed query: `after` without timing, then timed again from scratch. */
	client_relay_failed(&rp, -ENOENT, t);
	CHECK(step(&rp, true, &direct, 0, t + after - 1) == CLIENT_RELAY_NONE);
	CHECK(rp.stage == CLIENT_RELAY_FAILED);
	CHECK(step(&rp, true, &direct, 0, t + after) == CLIENT_RELAY_NONE);
	CHECK(rp.stage == CLIENT_RELAY_WAITING);
	CHECK(step(&rp, true, &direct, 0, t + 2 * after) == CLIENT_RELAY_ASK);
	CHECK(strcmp(client_relay_stage_name(CLIENT_RELAY_RELAYED), "relayed") == 0);
	CHECK(strstr(client_relay_strerror(-ENOENT), "NXDOMAIN") != NULL);
}

/* The relay is the last resort: no query while the candidate walk still has one to try. */
static void test_walk_first(void)
{
	struct client_relay_peer rp;
	union sockaddr_any reg = addr("198.51.100.2:40001");
	struct client_relay_input in = { .stale = true, .endpoint = &reg, .now_ms = 1000, .after_ms = 10000,
					 .walking = true };

	memset(&rp, 0, sizeof(rp));
	CHECK(client_relay_step(&rp, &in) == CLIENT_RELAY_NONE && rp.stage == CLIENT_RELAY_WAITING);
	/* Long past relay-after at the same endpoint: the walk goes on, the normal lookup runs. */
	for (in.now_ms = 11000; in.now_ms < 100000; in.now_ms += 2000)
		CHECK(client_relay_step(&rp, &in) == CLIENT_RELAY_NONE && rp.stage == CLIENT_RELAY_WAITING);
	/* Nothing left to try: the relay is asked at once (the endpoint had relay-after). */
	in.walking = false;
	CHECK(client_relay_step(&rp, &in) == CLIENT_RELAY_ASK && rp.stage == CLIENT_RELAY_ASKING);
}

static uint64_t rs_rx = 1000;

/*
 * One cycle of a relayed peer with relay-retry, handshake at hs: bytes keep
 * arriving through the relay (the counter grows while the endpoint is the
 * relay's), none at a direct endpoint.
 */
static enum client_relay_action rstep(struct client_relay_peer *rp, const union sockaddr_any *ep, uint64_t now,
				      int64_t hs)
{
	union sockaddr_any relay = addr("203.0.113.4:50001");
	struct client_relay_input in = {
		.stale = false, .endpoint = ep, .rx_bytes = addr_equal(ep, &relay) ? ++rs_rx : rs_rx, .now_ms = now,
		.after_ms = 10000,
		.retry_ms = 20000, .probe_ms = 6000, .handshake_s = hs,
	};

	return client_relay_step(rp, &in);
}

/*
 * Relayed -> direct (issue 17): looked up at once and then every look
 * interval; a direct try when due (retry after the relay write, then
 * doubling up to 8 x retry) or at once when the answer changed (which also
 * starts the backoff over); a try holds the peer for one handshake
 * attempt: a newer handshake at a direct endpoint is UPGRADED, none brings
 * the relay back (RESTORE).
 */
static void test_retry(void)
{
	struct client_relay_peer rp;
	union sockaddr_any relay = addr("203.0.113.4:50001"), direct = addr("198.51.100.2:40001");
	const uint64_t retry = 20000, look = 5000, t0 = 1000000;
	const uint64_t D1 = 0x1111, D2 = 0x2222;
	uint64_t t;

	memset(&rp, 0, sizeof(rp));
	client_relay_written(&rp, &relay, t0);
	/* The first cycle looks the peer up: the answer is the baseline, no try before `retry`. */
	CHECK(rstep(&rp, &relay, t0 + 100, 0) == CLIENT_RELAY_LOOK);
	CHECK(!client_relay_look_done(&rp, D1, t0 + 100, look, retry));
	CHECK(rstep(&rp, &relay, t0 + 200, 0) == CLIENT_RELAY_NONE);
	CHECK(rstep(&rp, &relay, t0 + 100 + look, 0) == CLIENT_RELAY_LOOK);
	CHECK(!client_relay_look_done(&rp, D1, t0 + 100 + look, look, retry));
	/* No answer (digest 0): no try, even when due. */
	CHECK(rstep(&rp, &relay, t0 + retry, 0) == CLIENT_RELAY_LOOK);
	CHECK(!client_relay_look_done(&rp, 0, t0 + retry, look, retry));
	/* Due: the same answer is tried. */
	t = t0 + retry + look;
	CHECK(rstep(&rp, &relay, t, 0) == CLIENT_RELAY_LOOK);
	CHECK(client_relay_look_done(&rp, D1, t, look, retry));
	client_relay_probing(&rp, &direct, t, 5000, rs_rx);
	CHECK(rp.stage == CLIENT_RELAY_PROBING && rp.tries == 1);
	/* One handshake attempt: an old handshake, or one at the relay, is no success. */
	CHECK(rstep(&rp, &direct, t + 1000, 4999) == CLIENT_RELAY_HOLD);
	CHECK(rstep(&rp, &relay, t + 5999, 5003) == CLIENT_RELAY_HOLD);
	/* Its time is over: the relay back, next try after 2 x retry. */
	CHECK(rstep(&rp, &relay, t + 6000, 5003) == CLIENT_RELAY_RESTORE);
	CHECK(rp.stage == CLIENT_RELAY_ASKING && rp.retry_ms == 2 * retry && rp.next_try_ms == t + 6000 + 2 * retry);
	CHECK(rstep(&rp, &relay, t + 6001, 5003) == CLIENT_RELAY_HOLD);
	t += 6100;
	client_relay_written(&rp, &relay, t);
	/* Further failures double the interval up to 8 x retry (the cycles between read the counter). */
	for (int i = 0; i < 5; i++) {
		uint64_t due = rp.next_try_ms;
		bool tried = false;
		/* Tried at the first look at or after the time it is due. */
		for (t += 2000; !tried && t < due + look + 2000; t += 2000)
			if (rstep(&rp, &relay, t, 0) == CLIENT_RELAY_LOOK)
				tried = client_relay_look_done(&rp, D1, t, look, retry);
		t -= 2000;
		CHECK(tried && t >= due && t < due + look);
		client_relay_probing(&rp, &direct, t, 6000, rs_rx);
		CHECK(rstep(&rp, &direct, t + 6000, 0) == CLIENT_RELAY_RESTORE);
		t += 6000;
		client_relay_written(&rp, &relay, t);
	}
	CHECK(rp.retry_ms == 8 * retry && rp.tries == 6);
	/* Not due, but the answer changed (a new endpoint or mapping): tried at once, backoff from retry again. */
	t += look;
	CHECK(rstep(&rp, &relay, t, 0) == CLIENT_RELAY_LOOK);
	CHECK(!client_relay_look_done(&rp, D1, t, look, retry));
	t += look;
	CHECK(rstep(&rp, &relay, t, 0) == CLIENT_RELAY_LOOK);
	CHECK(client_relay_look_done(&rp, D2, t, look, retry));
	client_relay_probing(&rp, &direct, t, 9000, rs_rx);
	CHECK(rstep(&rp, &direct, t + 1000, 8999) == CLIENT_RELAY_HOLD);
	/* A handshake newer than the write, at a direct endpoint: direct, counted, the way back forgotten. */
	CHECK(rstep(&rp, &direct, t + 2000, 9000) == CLIENT_RELAY_UPGRADED);
	CHECK(rp.stage == CLIENT_RELAY_IDLE && rp.upgrades == 1 && rp.retry_ms == 0 && rp.tries == 0);
	CHECK(strcmp(client_relay_stage_name(CLIENT_RELAY_PROBING), "probing") == 0);

	/*
	 * A session still valid carries on over the direct path without a
	 * handshake: bytes received after the try began, with the endpoint
	 * still direct, are success; bytes that came through the relay (the
	 * endpoint roamed back there) are not.
	 */
	{
		struct client_relay_input pi = { .stale = true, .endpoint = &direct, .rx_bytes = 500, .now_ms = t0,
						 .after_ms = 10000, .retry_ms = 20000, .probe_ms = 6000, .handshake_s = 100 };
		memset(&rp, 0, sizeof(rp));
		client_relay_written(&rp, &relay, t0 - 1000);
		rp.stage = CLIENT_RELAY_RELAYED;
		client_relay_probing(&rp, &direct, t0, 200, 500);
		CHECK(client_relay_step(&rp, &pi) == CLIENT_RELAY_HOLD);   /* the first reading */
		pi.endpoint = &relay;
		pi.rx_bytes = 600;
		pi.now_ms = t0 + 2000;
		CHECK(client_relay_step(&rp, &pi) == CLIENT_RELAY_HOLD);   /* through the relay */
		pi.endpoint = &direct;
		pi.rx_bytes = 700;
		pi.now_ms = t0 + 4000;
		CHECK(client_relay_step(&rp, &pi) == CLIENT_RELAY_UPGRADED && rp.upgrades == 1);
		/* Relayed, and WireGuard roams to a direct path where bytes keep arriving (stale by handshake age). */
		memset(&rp, 0, sizeof(rp));
		client_relay_written(&rp, &relay, t0);
		pi.endpoint = &relay;
		pi.rx_bytes = 800;
		pi.now_ms = t0 + 1000;
		pi.retry_ms = 0;
		CHECK(client_relay_step(&rp, &pi) == CLIENT_RELAY_HOLD);
		pi.endpoint = &direct;
		pi.now_ms = t0 + 3000;
		CHECK(client_relay_step(&rp, &pi) != CLIENT_RELAY_UPGRADED);   /* nothing arrived there yet */
		memset(&rp, 0, sizeof(rp));
		client_relay_written(&rp, &relay, t0);
		pi.endpoint = &relay;
		pi.now_ms = t0 + 1000;
		CHECK(client_relay_step(&rp, &pi) == CLIENT_RELAY_HOLD);
		pi.endpoint = &direct;
		pi.rx_bytes = 900;
		pi.now_ms = t0 + 3000;
		CHECK(client_relay_step(&rp, &pi) == CLIENT_RELAY_UPGRADED && rp.stage == CLIENT_RELAY_IDLE);
	}

	/* Without relay-retry (0) a relayed peer is never looked up. */
	struct client_relay_input in = { .stale = false, .endpoint = &relay, .rx_bytes = 1, .now_ms = t0, .after_ms = 10000 };
	memset(&rp, 0, sizeof(rp));
	client_relay_written(&rp, &relay, t0);
	for (in.now_ms = t0; in.now_ms < t0 + 1000000; in.now_ms += 2000, in.rx_bytes++)
		CHECK(client_relay_step(&rp, &in) == CLIENT_RELAY_NONE);
}

int main(void)
{
	for (int i = 0; i < WG_KEY_LEN; i++) {
		kp[i] = (uint8_t)(i * 7 + 1);
		ks[i] = (uint8_t)(i * 11 + 3);
	}
	test_qname();
	test_parse();
	test_policy();
	test_walk_first();
	test_retry();
	return CHECK_DONE();
}
