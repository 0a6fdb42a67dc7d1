/* SPDX-License-Identifier: MIT */
/*
 * The transfer glue without sockets: when publishing moves the serial and
 * keeps the IXFR history, and how registry_transfer_answer() answers
 * (transfers, the SOA checks of secondaries under access = peers, the limit
 * on running transfers).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "check.h"
#include "config.h"
#include "log.h"
#include "registry-transfer.h"
#include "wg.h"
#include "zone.h"

#define NOW 1700000000

static struct config_zone cz;
static struct config_xfr_acl acl;
static struct registry_transfer *xt;
static struct event_base *base;

/* A device with n peers whose ports start at port. */
static struct wg_device *device(int n, int port)
{
	struct wg_device *dev = wg_device_new();
	char ep[64], ip[64];

	dev->ifindex = 4;
	for (int i = 0; i < n; i++) {
		struct wg_peer *p = wg_device_add_peer(dev);
		struct cidr c;
		for (int j = 0; j < WG_KEY_LEN; j++)
			p->public_key[j] = (uint8_t)(i * 13 + j + 1);
		snprintf(ep, sizeof(ep), "198.51.100.%d:%d", i + 1, port + i);
		addr_parse(ep, 0, &p->endpoint);
		snprintf(ip, sizeof(ip), "10.4.0.%d/32", i + 1);
		cidr_parse(ip, false, &c);
		wg_peer_add_allowed_ip(p, &c);
	}
	return dev;
}

/* A query as wire bytes (IXFR with the client's serial when serial != 0). */
static size_t query(const char *name, ldns_rr_type type, uint32_t serial, uint8_t *out)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL;
	size_t n = 0;

	ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, 0);
	if (serial) {
		char text[200];
		ldns_rr *soa = NULL;
		snprintf(text, sizeof(text), "%s 0 IN SOA a. b. %u 1 1 1 1", name, serial);
		ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
	}
	ldns_pkt2wire(&w, p, &n);
	memcpy(out, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

/* Publishing: a change is a diff in the history; a fresh state or a new ttl moves the serial by itself. */
static void test_publish(void)
{
	struct wg_device *d0 = device(5, 1000), *d1 = device(5, 2000);
	struct registry_transfer_zone *tz = registry_transfer_zone_new(xt, base, &cz);
	struct zone *z0 = zone_new(&cz, d0, NULL, NOW);
	struct zone *z1 = zone_new(&cz, d1, z0, NOW + 10);
	struct zone *view_snaps[1];
	struct registry_transfer_zone *view_zones[1] = { tz };
	struct registry_transfer_view v = { .snaps = view_snaps, .zones = view_zones, .n = 1 };
	struct dns_answer_env env = { .zones = view_snaps, .n_zones = 1, .access = ACCESS_ANY, .ttl = 30,
				      .edns_size = 1232, .now = NOW };
	union sockaddr_any src, local;
	struct dns_client cl = { .src = &src, .local = &local, .ifindex = 1, .tcp = true };
	struct dns_answer_info info;
	struct registry_stream *stream = NULL;
	const char *why;
	uint8_t q[512], out[65536];

	addr_parse("192.0.2.10:1000", 0, &src);
	addr_parse("192.0.2.1:53", 0, &local);
	registry_transfer_publish(tz, NULL, z0, 30, NOW);
	CHECK(z0->serial == NOW);
	registry_transfer_publish(tz, z0, z1, 30, NOW + 10);
	CHECK(z1->serial == NOW + 10);

	/* IXFR from z0's serial: the five peers changed port only, so their SRV records, nothing else. */
	view_snaps[0] = z1;
	size_t qn = query("example.com.", LDNS_RR_TYPE_IXFR, z0->serial, q);
	size_t n = registry_transfer_answer(xt, &v, &env, &cl, q, qn, out, sizeof(out), &stream, &info, &why);
	CHECK(n == 0 && stream != NULL);
	if (stream) {
		int m = stream->next(stream, out, sizeof(out));
		ldns_pkt *p = NULL;
		CHECK(m > 0 && ldns_wire2pkt(&p, out, (size_t)m) == LDNS_STATUS_OK);
		CHECK(p && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 4 + 2 * 5);
		ldns_pkt_free(p);
		CHECK(stream->next(stream, out, sizeof(out)) == 0);
		stream->end(stream, true);
	}

	/* Same published set, new ttl: a new serial, and the history starts again (IXFR gets the whole zone). */
	struct zone *z2 = zone_new(&cz, d1, z1, NOW + 20);
	CHECK(z2->serial == z1->serial);
	registry_transfer_publish(tz, z1, z2, 60, NOW + 20);
	CHECK(z2->serial == NOW + 20);
	view_snaps[0] = z2;
	env.ttl = 60;
	stream = NULL;
	qn = query("example.com.", LDNS_RR_TYPE_IXFR, z1->serial, q);
	registry_transfer_answer(xt, &v, &env, &cl, q, qn, out, sizeof(out), &stream, &info, &why);
	CHECK(stream != NULL);
	if (stream) {
		int m = stream->next(stream, out, sizeof(out));
		ldns_pkt *p = NULL;
		CHECK(m > 0 && ldns_wire2pkt(&p, out, (size_t)m) == LDNS_STATUS_OK);
		CHECK(p && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 3 + 5 * 5);   /* the whole zone */
		ldns_pkt_free(p);
		while (stream->next(stream, out, sizeof(out)) > 0)
			;
		stream->end(stream, true);
	}

	/* A zone restarted by a reload (fresh state, the old snapshot kept): the next publish moves the serial. */
	struct registry_transfer_zone *fresh = registry_transfer_zone_new(xt, base, &cz);
	struct zone *z3 = zone_new(&cz, d1, z2, NOW + 30);
	CHECK(z3->serial == z2->serial);
	registry_transfer_publish(fresh, z2, z3, 60, NOW + 30);
	CHECK(z3->serial == NOW + 30);
	/* And then nothing moves it while nothing changes. */
	struct zone *z4 = zone_new(&cz, d1, z3, NOW + 40);
	registry_transfer_publish(fresh, z3, z4, 60, NOW + 40);
	CHECK(z4->serial == z3->serial);

	registry_transfer_zone_free(fresh);
	registry_transfer_zone_free(tz);
	zone_free(z0);
	zone_free(z1);
	zone_free(z2);
	zone_free(z3);
	zone_free(z4);
	wg_device_free(d0);
	wg_device_free(d1);
}

/* Answers: SOA checks of a secondary pass access = peers, strangers are refused; transfers beyond 32 get SERVFAIL. */
static void test_answers(void)
{
	struct wg_device *d = device(3, 1000);
	struct registry_transfer_zone *tz = registry_transfer_zone_new(xt, base, &cz);
	struct zone *z = zone_new(&cz, d, NULL, NOW);
	struct zone *snaps[1] = { z };
	struct registry_transfer_zone *zones[1] = { tz };
	struct registry_transfer_view v = { .snaps = snaps, .zones = zones, .n = 1 };
	struct dns_answer_env env = { .zones = snaps, .n_zones = 1, .access = ACCESS_PEERS, .ttl = 30,
				      .edns_size = 1232, .now = NOW };
	union sockaddr_any src, local;
	struct dns_client cl = { .src = &src, .local = &local, .ifindex = 1, .tcp = false };
	struct dns_answer_info info;
	struct registry_stream *streams[XFR_ACTIVE_MAX + 1] = { 0 };
	const char *why;
	uint8_t q[512], out[65536];

	registry_transfer_publish(tz, NULL, z, 30, NOW);
	addr_parse("192.0.2.1:53", 0, &local);
	addr_parse("192.0.2.10:1000", 0, &src);
	size_t qn = query("example.com.", LDNS_RR_TYPE_SOA, 0, q);
	size_t n = registry_transfer_answer(xt, &v, &env, &cl, q, qn, out, sizeof(out), NULL, &info, &why);
	CHECK(n > 0 && info.rcode == 0);
	/* Below the apex, access still applies. */
	qn = query("_wireguard._udp.example.com.", LDNS_RR_TYPE_PTR, 0, q);
	n = registry_transfer_answer(xt, &v, &env, &cl, q, qn, out, sizeof(out), NULL, &info, &why);
	CHECK(n > 0 && info.rcode == 5);
	addr_parse("203.0.113.10:1000", 0, &src);
	qn = query("example.com.", LDNS_RR_TYPE_SOA, 0, q);
	n = registry_transfer_answer(xt, &v, &env, &cl, q, qn, out, sizeof(out), NULL, &info, &why);
	CHECK(n > 0 && info.rcode == 5);

	/* 32 transfers running: the 33rd is SERVFAIL until one ends. */
	addr_parse("192.0.2.10:1000", 0, &src);
	cl.tcp = true;
	qn = query("example.com.", LDNS_RR_TYPE_AXFR, 0, q);
	for (int i = 0; i < XFR_ACTIVE_MAX; i++) {
		registry_transfer_answer(xt, &v, &env, &cl, q, qn, out, sizeof(out), &streams[i], &info, &why);
		CHECK(streams[i] != NULL);
	}
	n = registry_transfer_answer(xt, &v, &env, &cl, q, qn, out, sizeof(out), &streams[XFR_ACTIVE_MAX], &info, &why);
	CHECK(n > 0 && info.rcode == 2 && streams[XFR_ACTIVE_MAX] == NULL);
	/* A zone freed under running transfers: they finish from their snapshot. */
	registry_transfer_zone_free(tz);
	zone_free(z);
	for (int i = 0; i < XFR_ACTIVE_MAX; i++) {
		if (!streams[i])
			continue;
		int m, msgs = 0;
		while ((m = streams[i]->next(streams[i], out, sizeof(out))) > 0)
			msgs++;
		CHECK(m == 0 && msgs == 1);
		streams[i]->end(streams[i], i % 2);
	}
	wg_device_free(d);
}

int main(void)
{
	log_init(LOG_LVL_ERROR, false);
	base = event_base_new();
	xt = registry_transfer_new();
	memset(&cz, 0, sizeof(cz));
	strcpy(cz.name, "example.com.");
	strcpy(cz.device, "wg0");
	strcpy(cz.ns, "ns1.example.com.");
	cz.refresh_ms = 1000;
	cz.soa_refresh_s = 30;
	cz.soa_retry_s = 5;
	cz.soa_expire_s = 604800;
	cz.peer_transfers = true;
	cz.ixfr_history = 10;
	cidr_parse("192.0.2.0/24", false, &acl.prefix);
	cz.allow_transfer = &acl;
	cz.n_allow_transfer = 1;
	test_publish();
	test_answers();
	registry_transfer_free(xt);
	event_base_free(base);
	return CHECK_DONE();
}
