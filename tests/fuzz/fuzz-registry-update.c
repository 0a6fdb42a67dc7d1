/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes as a candidate registration (DNS UPDATE)
 * through registry_update_parse() and registry_update_reply(); an accepted
 * one is stored in the bounded table, published in a snapshot, and read
 * back by the client's parser, which must return what was registered.
 * The same bytes also go to the client's reader of candidate answers.
 *
 * The first input byte selects the sender (source address, arrival
 * interface) and limits; the rest is the message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "cand-store.h"
#include "dns-pkt.h"
#include "client-candidates.h"
#include "config.h"
#include "dns-answer.h"
#include "registry-update.h"
#include "wg.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_PEERS 8

static struct config_zone cz;
static struct wg_device device;
static struct wg_peer peers[N_PEERS];
static struct cidr cidrs[N_PEERS];
static struct zone *zones[2];
static struct cand_store *store;

/* Peers 10.0.0.i/32 (peer 7: 10.1.0.0/16 around peer 6's 10.1.0.6/32), on interface 3. */
static void setup(void)
{
	char t[32];

	memset(&cz, 0, sizeof(cz));
	strcpy(cz.name, "example.com.");
	strcpy(cz.ns, "ns1.example.com.");
	cz.refresh_ms = 1000;
	device.ifindex = 3;
	device.listen_port = 51820;
	device.peers = peers;
	device.n_peers = device.cap_peers = N_PEERS;
	for (int i = 0; i < N_PEERS; i++) {
		for (int j = 0; j < WG_KEY_LEN; j++)
			peers[i].public_key[j] = (uint8_t)(i * 31 + j);
		addr_parse("192.0.2.1:51820", 0, &peers[i].endpoint);
		snprintf(t, sizeof(t), i == 7 ? "10.1.0.0/16" : i == 6 ? "10.1.0.6/32" : "10.0.0.%d/32", i);
		if (cidr_parse(t, false, &cidrs[i]) < 0)
			abort();
		peers[i].allowed_ips = &cidrs[i];
		peers[i].n_allowed_ips = peers[i].cap_allowed_ips = 1;
	}
	zones[0] = zone_new(&cz, &device, NULL, 1700000000);
	strcpy(cz.name, "b32.");
	zones[1] = zone_new(&cz, NULL, NULL, 1700000000);
	store = cand_store_new(CAND_PEER_MAX, 64);
	strcpy(cz.name, "example.com.");
	if (!zones[0] || !zones[1] || !store)
		abort();
}

/* An accepted registration must come back, record for record, through a snapshot and the client's reader. */
static void check_published(const struct registry_update *u)
{
	static uint8_t ans[65536];
	struct cand_rec got[CAND_PEER_MAX];
	struct dns_answer_info info;
	union sockaddr_any src;
	char qname[400];
	uint8_t *wire = NULL;
	size_t wlen = 0;
	ldns_pkt *q = NULL, *p = NULL;

	if (cand_store_set(store, u->key, u->cands, u->n, 1000) < 0)
		return;   /* the table is full: a refusal, not a finding */
	struct zone_build *b = zone_build_new(&cz, &device, NULL, 1700000000);
	if (!b)
		abort();
	zone_build_set_cands(b, store, 0);
	zone_build_step(b, SIZE_MAX);
	struct zone *z = zone_build_finish(b);
	struct zone *zs[1] = { z };
	struct dns_answer_env env = { .zones = zs, .n_zones = 1, .access = ACCESS_ANY, .edns_size = 1232, .now = 1700000000 };
	addr_parse("10.0.0.1:5353", 0, &src);
	struct dns_client cl = { .src = &src, .tcp = true };
	if (client_candidates_qname(u->key, "example.com.", qname, sizeof(qname)) < 0 ||
	    ldns_pkt_query_new_frm_str(&q, qname, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK ||
	    ldns_pkt2wire(&wire, q, &wlen) != LDNS_STATUS_OK)
		abort();
	size_t n = dns_answer(&env, &cl, wire, wlen, ans, sizeof(ans), &info);
	if (n == 0 || ldns_wire2pkt(&p, ans, n) != LDNS_STATUS_OK)
		abort();
	int got_n = client_candidates_parse(p, u->key, "example.com.", got, CAND_PEER_MAX);
	if (u->n == 0 ? got_n != -ENOENT : got_n != (int)u->n)
		abort();
	for (int i = 0; i < got_n; i++)
		if (!cand_same_endpoint(&got[i], &u->cands[i]) || got[i].kind != u->cands[i].kind)
			abort();
	ldns_pkt_free(p);
	ldns_pkt_free(q);
	free(wire);
	zone_free(z);
}

/* One input: selector byte, then the message. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[4096];
	static const char *const sources[4] = { "10.0.0.1:4000", "10.1.0.6:4000", "10.1.2.3:4000", "[::ffff:10.0.0.2]:1" };
	struct registry_update u;
	union sockaddr_any src;
	ldns_pkt *p = NULL;

	if (!zones[0])
		setup();
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	struct registry_update_env env = { .zones = zones, .n_zones = 2, .per_peer = (mode & 16) ? 2 : 8,
					   .lease_max_s = 3600 };
	addr_parse(sources[mode & 3], 0, &src);
	struct dns_client cl = { .src = &src, .ifindex = (mode & 4) ? 3 : 4, .tcp = (mode & 8) != 0 };
	if (registry_update_parse(&env, &cl, data + 1, size - 1, &u)) {
		size_t n = registry_update_reply(data + 1, size - 1, &u, out, (mode & 32) ? 20 : sizeof(out));
		if (n > sizeof(out))
			abort();
		if (n && ldns_wire2pkt(&p, out, n) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_free(p);
		p = NULL;
		if (u.rcode == 0) {
			if (!u.has_key || u.n > env.per_peer || u.zone != 0 || cl.ifindex != 3)
				abort();
			check_published(&u);
		}
	}
	/* The client's reader of candidate answers, on the same bytes. */
	if (dns_pkt_from_wire(&p, data + 1, size - 1) == LDNS_STATUS_OK) {
		struct cand_rec got[CAND_PEER_MAX];
		int n = client_candidates_parse(p, peers[0].public_key, "example.com.", got, CAND_PEER_MAX);
		if (n > CAND_PEER_MAX)
			abort();
		(void)client_candidates_granted_lease(p);
		ldns_pkt_free(p);
	}
	return 0;
}
