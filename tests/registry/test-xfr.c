/* SPDX-License-Identifier: MIT */
/*
 * Zone transfers without sockets: AXFR and IXFR message streams parsed back
 * with ldns, IXFR applied to the old zone giving the new one, the history's
 * bounds, who may transfer, that handshakes alone change nothing, and that
 * registered candidates are transferred as queries see them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "cand-store.h"
#include "check.h"
#include "client-axfr.h"
#include "config.h"
#include "dns-answer.h"
#include "registry-xfr.h"
#include "wg.h"
#include "zone-history.h"
#include "zone.h"

#define NOW 1700000000
#define TTL 30

/* A deterministic key from a seed. */
static void make_key(uint8_t key[WG_KEY_LEN], int seed)
{
	for (int i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(seed * 37 + i * 11 + 1);
	key[0] = (uint8_t)seed;
	key[1] = (uint8_t)(seed >> 8);
}

/* Add peer number seed with an endpoint (NULL: none) and one allowed IP per entry of ips. */
static struct wg_peer *add_peer(struct wg_device *dev, int seed, const char *ep, const char *const *ips)
{
	struct wg_peer *p = wg_device_add_peer(dev);
	if (!p)
		abort();
	make_key(p->public_key, seed);
	if (ep && addr_parse(ep, 0, &p->endpoint) < 0)
		abort();
	p->last_handshake_sec = NOW - seed;
	for (; ips && *ips; ips++) {
		struct cidr c;
		if (cidr_parse(*ips, false, &c) < 0 || wg_peer_add_allowed_ip(p, &c) < 0)
			abort();
	}
	return p;
}

/* A device with n peers: IPv4 and IPv6 endpoints, every seventh without one. */
static struct wg_device *make_device(int n)
{
	struct wg_device *dev = wg_device_new();
	char ep[64], ip[64];

	snprintf(dev->name, sizeof(dev->name), "wgx0");
	dev->ifindex = 9;
	dev->listen_port = 51820;
	for (int i = 0; i < n; i++) {
		const char *ips[3] = { ip, i % 5 == 0 ? "fd00:9::/48" : NULL, NULL };
		snprintf(ip, sizeof(ip), "10.%d.%d.%d/32", i / 65536, i / 256 % 256, i % 256);
		if (i % 3 == 0)
			snprintf(ep, sizeof(ep), "[2001:db8::%x]:%d", i + 1, 1000 + i % 50000);
		else
			snprintf(ep, sizeof(ep), "198.51.%d.%d:%d", 100 + i / 65536, i % 250 + 1, 1000 + i % 50000);
		add_peer(dev, i + 1, i % 7 == 3 ? NULL : ep, ips);
	}
	return dev;
}

/* The zone section used throughout. */
static void make_cfg(struct config_zone *cz)
{
	memset(cz, 0, sizeof(*cz));
	snprintf(cz->name, sizeof(cz->name), "example.com.");
	snprintf(cz->device, sizeof(cz->device), "wgx0");
	snprintf(cz->ns, sizeof(cz->ns), "ns1.example.com.");
	cz->refresh_ms = 1000;
	cz->soa_refresh_s = 30;
	cz->soa_retry_s = 5;
	cz->soa_expire_s = 604800;
	cz->peer_transfers = true;
	cz->ixfr_history = 100;
}

/* A transfer request (AXFR, or IXFR with the client's serial), parsed as the registry parses it. */
static size_t request(ldns_rr_type type, uint32_t serial, uint8_t *out, struct dns_query *q)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL;
	size_t n = 0;

	ldns_pkt_query_new_frm_str(&p, "Example.COM.", type, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(p, 0x5151);
	if (type == LDNS_RR_TYPE_IXFR) {
		char text[256];
		ldns_rr *soa = NULL;
		snprintf(text, sizeof(text), "example.com. 0 IN SOA ns1.example.com. hostmaster.example.com. %u 1 1 1 1", serial);
		ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
	}
	ldns_pkt2wire(&w, p, &n);
	memcpy(out, w, n);
	free(w);
	ldns_pkt_free(p);
	CHECK(dns_query_parse(out, n, q) == DNS_QUERY_OK);
	return n;
}

/* Records received in a transfer, in order, as presentation lines without TTL. */
struct received {
	char **lines;
	size_t n;
	size_t messages;
	size_t bytes;
	size_t largest;
	bool srv_whole;               /* every SRV target was written uncompressed */
};

/* Presentation line of an RR without its TTL, in lower case (names compress against the query's case). */
static char *rr_line(const ldns_rr *rr)
{
	ldns_rr *c = ldns_rr_clone(rr);
	ldns_rr_set_ttl(c, 0);
	char *s = ldns_rr2str(c);
	ldns_rr_free(c);
	for (char *p = s; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p);
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

/* True when the SRV records of a message have their target uncompressed (last two rdata bytes not a pointer). */
static bool srv_targets_whole(const uint8_t *msg, size_t len)
{
	ldns_pkt *p = NULL;
	bool ok = true;

	if (ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
		return false;
	/* Scan the wire for type SRV records by walking with ldns's offsets is not exposed: look for the rdata pattern. */
	for (size_t i = 0; i + 12 < len; i++) {
		if (msg[i] == 0 && msg[i + 1] == 33 && msg[i + 2] == 0 && msg[i + 3] == 1) {
			size_t rdlen = (size_t)msg[i + 8] << 8 | msg[i + 9];
			if (i + 10 + rdlen <= len && rdlen > 8) {
				uint8_t last = msg[i + 10 + rdlen - 1];
				uint8_t before = msg[i + 10 + rdlen - 2];
				if (last != 0 && (before & 0xc0) == 0xc0)
					ok = false;
			}
		}
	}
	ldns_pkt_free(p);
	return ok;
}

/* Pull every message of a stream and parse it; checks the header of each. */
static void receive(struct xfr_stream *s, size_t cap, struct received *r)
{
	static uint8_t buf[65535];

	memset(r, 0, sizeof(*r));
	r->srv_whole = true;
	for (;;) {
		int n = registry_xfr_next(s, buf, cap, 100);
		CHECK(n >= 0);
		if (n <= 0)
			break;
		CHECK((size_t)n + 100 <= cap);
		ldns_pkt *p = NULL;
		CHECK(ldns_wire2pkt(&p, buf, (size_t)n) == LDNS_STATUS_OK);
		if (!p)
			break;
		CHECK(ldns_pkt_id(p) == 0x5151 && ldns_pkt_qr(p) && ldns_pkt_aa(p));
		CHECK(ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_pkt_qdcount(p) == 1);
		r->srv_whole = r->srv_whole && srv_targets_whole(buf, (size_t)n);
		ldns_rr_list *an = ldns_pkt_answer(p);
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			r->lines = realloc(r->lines, (r->n + 1) * sizeof(*r->lines));
			r->lines[r->n++] = rr_line(ldns_rr_list_rr(an, i));
			CHECK(ldns_rr_ttl(ldns_rr_list_rr(an, i)) == TTL);
		}
		ldns_pkt_free(p);
		r->messages++;
		r->bytes += (size_t)n;
		if ((size_t)n > r->largest)
			r->largest = (size_t)n;
	}
}

/* Free what receive() collected. */
static void received_free(struct received *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	free(r->lines);
}

/* Index of line in r->lines[from..to), or -1. */
static long find_line(const struct received *r, size_t from, size_t to, const char *line)
{
	for (size_t i = from; i < to; i++)
		if (strcmp(r->lines[i], line) == 0)
			return (long)i;
	return -1;
}

/* Count the lines containing needle. */
static size_t count_lines(const struct received *r, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += strstr(r->lines[i], needle) != NULL;
	return n;
}

/* The AXFR of a snapshot as sorted lines (the zone's content). */
static void axfr_lines(struct zone *z, struct received *r)
{
	uint8_t q[512];
	struct dns_query dq;

	request(LDNS_RR_TYPE_AXFR, 0, q, &dq);
	struct xfr_stream *s = registry_xfr_axfr(z, q, &dq, TTL);
	CHECK(s != NULL);
	receive(s, 65535, r);
	registry_xfr_free(s);
}

/* AXFR: SOA first and last, every published entry's records, no seen=, SRV targets whole, messages bounded. */
static void test_axfr(void)
{
	struct config_zone cz;
	struct received r;

	make_cfg(&cz);
	struct wg_device *dev = make_device(2000);
	struct zone *z = zone_new(&cz, dev, NULL, NOW);
	CHECK(z && z->n_entries == 2000 - 286);   /* every seventh (i % 7 == 3) has no endpoint */
	axfr_lines(z, &r);
	CHECK(r.n >= 2 && strstr(r.lines[0], "\tsoa\t") && strcmp(r.lines[0], r.lines[r.n - 1]) == 0);
	CHECK_STR_CONTAINS(r.lines[0], "ns1.example.com. hostmaster.example.com. 1700000000 30 5 604800 30");
	CHECK(count_lines(&r, "\tsoa\t") == 2);
	CHECK(count_lines(&r, "\tns\t") == 1);
	CHECK(count_lines(&r, "\tptr\t") == z->n_entries);
	CHECK(count_lines(&r, "\tsrv\t") == z->n_entries);
	CHECK(count_lines(&r, "\ttxt\t") == z->n_entries);
	CHECK(count_lines(&r, "\ta\t") + count_lines(&r, "\taaaa\t") == 2 * z->n_entries);
	CHECK(count_lines(&r, "seen=") == 0);
	CHECK(r.srv_whole);
	/* Several messages, none above the target plus one record. */
	CHECK(r.messages > 10 && r.largest <= XFR_MSG_TARGET + 11);
	/* One entry's records, as dig would print them. */
	const struct zone_entry *e = &z->entries[1];
	char line[1024], b32[KEY_B32_LEN + 1];
	memcpy(b32, e->label, KEY_B32_LEN);
	b32[KEY_B32_LEN] = '\0';
	for (char *c = b32; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c | 0x20 : *c);
	snprintf(line, sizeof(line), "_wireguard._udp.example.com.\t0\tin\tptr\t%s._wireguard._udp.example.com.", b32);
	CHECK(find_line(&r, 0, r.n, line) > 0);
	snprintf(line, sizeof(line), "%s._wireguard._udp.example.com.\t0\tin\tsrv\t0 0 %u %s.example.com.",
		 b32, e->port, b32);
	CHECK(find_line(&r, 0, r.n, line) > 0);
	received_free(&r);

	/* A small cap: the same records, in more and smaller messages. */
	uint8_t q[512];
	struct dns_query dq;
	struct received small;
	request(LDNS_RR_TYPE_AXFR, 0, q, &dq);
	struct xfr_stream *s = registry_xfr_axfr(z, q, &dq, TTL);
	receive(s, 2048, &small);
	CHECK(small.n == r.n && small.messages > r.messages && small.largest <= 2048 - 100);
	registry_xfr_free(s);
	received_free(&small);

	/* A cap too small for one record: the stream says so. */
	s = registry_xfr_axfr(z, q, &dq, TTL);
	uint8_t tiny[40];
	CHECK(registry_xfr_next(s, tiny, sizeof(tiny), 0) == -EMSGSIZE);
	registry_xfr_free(s);
	zone_free(z);
	wg_device_free(dev);
}

/*
 * Apply an IXFR (its lines) to the lines of the old zone: RFC 1995 sequences
 * of (old SOA, deletions, new SOA, additions) between the current SOA at
 * both ends. Returns the new set, unsorted, or NULL when the IXFR is malformed.
 */
static struct received *apply_ixfr(const struct received *old, const struct received *ixfr)
{
	struct received *out = calloc(1, sizeof(*out));
	size_t i;

	if (ixfr->n < 2 || strcmp(ixfr->lines[0], ixfr->lines[ixfr->n - 1]) != 0)
		goto bad;
	/* Start from the old zone without its SOA (the last one of the AXFR repeats it). */
	for (i = 0; i + 1 < old->n; i++) {
		if (strstr(old->lines[i], "\tsoa\t"))
			continue;
		out->lines = realloc(out->lines, (out->n + 1) * sizeof(*out->lines));
		out->lines[out->n++] = strdup(old->lines[i]);
	}
	bool adding = true;   /* the first SOA inside starts a deletion list */
	for (i = 1; i + 1 < ixfr->n; i++) {
		const char *l = ixfr->lines[i];
		if (strstr(l, "\tsoa\t")) {
			adding = !adding;
			continue;
		}
		if (adding) {
			out->lines = realloc(out->lines, (out->n + 1) * sizeof(*out->lines));
			out->lines[out->n++] = strdup(l);
			continue;
		}
		long at = find_line(out, 0, out->n, l);
		if (at < 0)
			goto bad;   /* deleting a record the secondary does not have */
		free(out->lines[at]);
		out->lines[at] = out->lines[--out->n];
	}
	if (!adding)
		goto bad;
	return out;
bad:
	received_free(out);
	free(out);
	return NULL;
}

/* Sort comparator for lines. */
static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when the set of non-SOA lines of a equals the lines in b (both sorted here). */
static bool same_zone(struct received *applied, const struct received *axfr)
{
	struct received want = { 0 };

	for (size_t i = 0; i + 1 < axfr->n; i++) {
		if (strstr(axfr->lines[i], "\tsoa\t"))
			continue;
		want.lines = realloc(want.lines, (want.n + 1) * sizeof(*want.lines));
		want.lines[want.n++] = strdup(axfr->lines[i]);
	}
	qsort(applied->lines, applied->n, sizeof(char *), line_cmp);
	qsort(want.lines, want.n, sizeof(char *), line_cmp);
	bool same = applied->n == want.n;
	for (size_t i = 0; same && i < want.n; i++)
		same = strcmp(applied->lines[i], want.lines[i]) == 0;
	received_free(&want);
	return same;
}

/* The IXFR from from_z's serial against the history, received. */
static int ixfr(struct zone *cur, struct zone_history *h, uint32_t from, struct received *r)
{
	uint8_t q[512];
	struct dns_query dq;
	size_t first = 0, n = 0;
	uint32_t serial = 0;

	size_t len = request(LDNS_RR_TYPE_IXFR, from, q, &dq);
	CHECK(registry_xfr_client_serial(q, len, &dq, &serial) == 0 && serial == from);
	int found = zone_history_find(h, from, cur->serial, &first, &n);
	if (found < 0)
		return found;
	struct xfr_stream *s = registry_xfr_ixfr(cur, h->diffs + first, n, q, &dq, TTL);
	CHECK(s && registry_xfr_kind(s) == XFR_IXFR);
	receive(s, 65535, r);
	registry_xfr_free(s);
	return 0;
}

/* IXFR: one endpoint change is its SRV and addresses only; chains of changes applied to the old zone give the new one. */
static void test_ixfr(void)
{
	struct config_zone cz;
	struct zone_history h;
	struct received a0, a1, a3, x;

	make_cfg(&cz);
	zone_history_init(&h, 10, 1 << 20);
	struct wg_device *dev = make_device(50);
	struct zone *z0 = zone_new(&cz, dev, NULL, NOW);
	axfr_lines(z0, &a0);

	/* One peer moves (address and port). */
	addr_parse("203.0.113.9:4444", 0, &dev->peers[1].endpoint);
	struct zone *z1 = zone_new(&cz, dev, z0, NOW + 1);
	CHECK(z1->serial == NOW + 1);
	struct zone_diff *d = NULL;
	CHECK(zone_diff_new(z0, z1, &d) == 0 && d);
	CHECK(d && d->n_del == 3 && d->n_add == 3);   /* SRV, A at the instance, A at the host */
	CHECK(zone_history_add(&h, d) == 0);
	CHECK(ixfr(z1, &h, z0->serial, &x) == 0);
	CHECK(x.n == 4 + 6);
	CHECK(count_lines(&x, "\tsrv\t") == 2 && count_lines(&x, "203.0.113.9") == 2);
	struct received *applied = apply_ixfr(&a0, &x);
	axfr_lines(z1, &a1);
	CHECK(applied && same_zone(applied, &a1));
	if (applied) {
		received_free(applied);
		free(applied);
	}
	received_free(&x);

	/* More changes: a peer removed, one added, allowed IPs changed, a port only; then a no-op. */
	dev->peers[4].endpoint.sa.sa_family = AF_UNSPEC;
	add_peer(dev, 999, "192.0.2.99:9999", (const char *const[]){ "10.99.0.1/32", NULL });
	struct zone *z2 = zone_new(&cz, dev, z1, NOW + 2);
	CHECK(zone_diff_new(z1, z2, &d) == 0 && d && zone_history_add(&h, d) == 0);
	struct cidr c;
	cidr_parse("10.200.0.0/16", false, &c);
	wg_peer_add_allowed_ip(&dev->peers[5], &c);
	dev->peers[6].endpoint.in.sin_port = htons(7);
	struct zone *z3 = zone_new(&cz, dev, z2, NOW + 3);
	CHECK(zone_diff_new(z2, z3, &d) == 0 && d && zone_history_add(&h, d) == 0);
	CHECK(h.n == 3);
	axfr_lines(z3, &a3);
	/* From each older serial, the IXFR applied to that zone gives the newest. */
	struct zone *olds[] = { z0, z1, z2 };
	for (int i = 0; i < 3; i++) {
		struct received ao;
		axfr_lines(olds[i], &ao);
		CHECK(ixfr(z3, &h, olds[i]->serial, &x) == 0);
		applied = apply_ixfr(&ao, &x);
		CHECK(applied && same_zone(applied, &a3));
		if (applied) {
			received_free(applied);
			free(applied);
		}
		received_free(&x);
		received_free(&ao);
	}
	/* Unknown or future serials are not in the history: the caller answers AXFR or the SOA alone. */
	size_t first, n;
	CHECK(zone_history_find(&h, NOW - 5, z3->serial, &first, &n) == -ENOENT);
	CHECK(zone_history_find(&h, z3->serial + 10, z3->serial, &first, &n) == -ENOENT);
	CHECK(zone_history_find(&h, z0->serial, z3->serial + 1, &first, &n) == -ENOENT);
	uint8_t q[512];
	struct dns_query dq;
	request(LDNS_RR_TYPE_IXFR, z3->serial + 10, q, &dq);
	struct xfr_stream *s = registry_xfr_ixfr(z3, NULL, 0, q, &dq, TTL);
	CHECK(registry_xfr_kind(s) == XFR_IXFR_UPTODATE);
	receive(s, 512, &x);
	CHECK(x.n == 1 && x.messages == 1 && strstr(x.lines[0], "\tsoa\t"));
	registry_xfr_free(s);
	received_free(&x);
	s = registry_xfr_axfr(z3, q, &dq, TTL);
	CHECK(registry_xfr_kind(s) == XFR_IXFR_FULL);
	registry_xfr_free(s);

	/* The stream keeps its diffs and snapshot while the history and registry move on. */
	CHECK(zone_history_find(&h, z2->serial, z3->serial, &first, &n) == 0 && n == 1);
	s = registry_xfr_ixfr(z3, h.diffs + first, n, q, &dq, TTL);
	zone_history_clear(&h);
	zone_free(z3);
	receive(s, 65535, &x);
	CHECK(x.n > 4);
	registry_xfr_free(s);
	received_free(&x);

	received_free(&a0);
	received_free(&a1);
	received_free(&a3);
	zone_free(z0);
	zone_free(z1);
	zone_free(z2);
	wg_device_free(dev);
}

/* A candidate from text. */
static struct cand_rec cand(enum cand_kind kind, uint8_t index, const char *ep)
{
	struct cand_rec c;
	union sockaddr_any a;

	memset(&c, 0, sizeof(c));
	CHECK(addr_parse(ep, 0, &a) == 0);
	CHECK(cand_from_sockaddr(&c, &a) == 0);
	c.kind = (uint8_t)kind;
	c.index = index;
	return c;
}

/* A snapshot of dev publishing the candidates of store live at now_ms. */
static struct zone *build_cands(const struct config_zone *cz, const struct wg_device *dev, const struct zone *prev,
				time_t now, const struct cand_store *store, uint64_t now_ms)
{
	struct zone_build *b = zone_build_new(cz, dev, prev, now);

	CHECK(b != NULL);
	zone_build_set_cands(b, store, now_ms);
	CHECK(zone_build_step(b, SIZE_MAX) == 1);
	struct zone *z = zone_build_finish(b);
	CHECK(z != NULL);
	return z;
}

/* The answer section of a TCP query to dns_answer() for name and type, as sorted lines. */
static void answer_lines(struct zone *z, const char *name, ldns_rr_type type, struct received *r)
{
	static uint8_t out[65535];
	union sockaddr_any src, local;
	struct dns_client cl = { .src = &src, .local = &local, .ifindex = 9, .tcp = true };
	struct zone *zs[1] = { z };
	struct dns_answer_env env = { .zones = zs, .n_zones = 1, .access = ACCESS_ANY, .ttl = TTL,
				      .edns_size = 1232, .now = NOW };
	struct dns_answer_info info;
	ldns_pkt *qp = NULL, *rp = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;

	memset(r, 0, sizeof(*r));
	addr_parse("192.0.2.1:5353", 0, &src);
	addr_parse("192.0.2.254:53", 0, &local);
	CHECK(ldns_pkt_query_new_frm_str(&qp, name, type, LDNS_RR_CLASS_IN, 0) == LDNS_STATUS_OK);
	CHECK(ldns_pkt2wire(&wire, qp, &wlen) == LDNS_STATUS_OK);
	size_t n = dns_answer(&env, &cl, wire, wlen, out, sizeof(out), &info);
	CHECK(n > 0 && ldns_wire2pkt(&rp, out, n) == LDNS_STATUS_OK);
	if (rp) {
		ldns_rr_list *an = ldns_pkt_answer(rp);
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			r->lines = realloc(r->lines, (r->n + 1) * sizeof(*r->lines));
			r->lines[r->n++] = rr_line(ldns_rr_list_rr(an, i));
		}
		qsort(r->lines, r->n, sizeof(char *), line_cmp);
	}
	ldns_pkt_free(rp);
	ldns_pkt_free(qp);
	free(wire);
}

/*
 * Every RRset of z's AXFR (the SOA aside, and TXT, whose "seen=" the
 * transfer leaves out) is what a query for its name and type answers, and
 * the other way round for the candidate names. Returns the RRsets compared.
 */
static size_t check_axfr_matches_answers(struct zone *z, const struct received *axfr)
{
	size_t sets = 0;

	for (size_t i = 0; i + 1 < axfr->n; i++) {
		char owner[300], type[16];
		if (sscanf(axfr->lines[i], "%299[^\t]\t%*s\t%*s\t%15[^\t]", owner, type) != 2)
			continue;
		if (strcmp(type, "soa") == 0 || strcmp(type, "txt") == 0)
			continue;
		/* Each (owner, type) once: the first line that has it. */
		char prefix[340];
		int plen = snprintf(prefix, sizeof(prefix), "%s\t0\tin\t%s\t", owner, type);
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strncmp(axfr->lines[j], prefix, (size_t)plen) == 0;
		if (seen)
			continue;
		struct received want = { 0 }, got;
		for (size_t j = 0; j + 1 < axfr->n; j++) {
			if (strncmp(axfr->lines[j], prefix, (size_t)plen) != 0)
				continue;
			want.lines = realloc(want.lines, (want.n + 1) * sizeof(*want.lines));
			want.lines[want.n++] = strdup(axfr->lines[j]);
		}
		qsort(want.lines, want.n, sizeof(char *), line_cmp);
		answer_lines(z, owner, ldns_get_rr_type_by_name(type), &got);
		bool same = got.n == want.n;
		for (size_t j = 0; same && j < want.n; j++)
			same = strcmp(got.lines[j], want.lines[j]) == 0;
		if (!same)
			fprintf(stderr, "differs: %s %s: axfr %zu records, answer %zu\n", owner, type, want.n, got.n);
		CHECK(same);
		received_free(&want);
		received_free(&got);
		sets++;
	}
	return sets;
}

/* Lower-case base32 label of an entry. */
static void entry_b32(const struct zone_entry *e, char out[KEY_B32_LEN + 1])
{
	for (int i = 0; i < KEY_B32_LEN; i++)
		out[i] = (char)(e->label[i] >= 'A' && e->label[i] <= 'Z' ? e->label[i] | 0x20 : e->label[i]);
	out[KEY_B32_LEN] = '\0';
}

/* Apply the IXFR from old's serial to old's AXFR lines: true when it gives cur's AXFR. */
static bool ixfr_gives(struct zone *old, struct zone *cur, struct zone_history *h)
{
	struct received ao, ac, x;
	bool ok = false;

	axfr_lines(old, &ao);
	axfr_lines(cur, &ac);
	if (ixfr(cur, h, old->serial, &x) == 0) {
		struct received *applied = apply_ixfr(&ao, &x);
		ok = applied && same_zone(applied, &ac);
		if (applied) {
			received_free(applied);
			free(applied);
		}
		received_free(&x);
	}
	received_free(&ao);
	received_free(&ac);
	return ok;
}

/* A member's reading of z's AXFR (client-axfr.c) within max_records and max_bytes; 1 when read. */
static int member_reads_limited(struct zone *z, struct client_axfr_result *res, size_t max_records, size_t max_bytes)
{
	static uint8_t buf[65535];
	uint8_t q[512];
	struct dns_query dq;
	struct client_axfr x;
	int r = 0, m;

	memset(res, 0, sizeof(*res));
	request(LDNS_RR_TYPE_AXFR, 0, q, &dq);
	struct xfr_stream *s = registry_xfr_axfr(z, q, &dq, TTL);
	CHECK(s && client_axfr_init(&x, "example.com.", max_records, max_bytes) == 0);
	while (r == 0 && (m = registry_xfr_next(s, buf, sizeof(buf), 0)) > 0)
		r = client_axfr_feed(&x, buf, (size_t)m);
	if (r == 1)
		CHECK(client_axfr_finish(&x, res) == 0);
	client_axfr_free(&x);
	registry_xfr_free(s);
	return r;
}

/* The same within the limits a client sets for as many peers as z lists. */
static int member_reads_within(struct zone *z, struct client_axfr_result *res)
{
	return member_reads_limited(z, res, z->n_entries * CLIENT_AXFR_RECORDS_PER_PEER,
				    z->n_entries * CLIENT_AXFR_BYTES_PER_PEER);
}

/* A member's reading of z's AXFR, as a client in a large mesh reads it (generous limits): must succeed. */
static void member_reads(struct zone *z, struct client_axfr_result *res)
{
	CHECK(member_reads_limited(z, res, 100000, 1 << 24) == 1);
}

/* True when two members' readings list the same peers with the same ports, targets, addresses and allowed IPs. */
static bool same_reading(const struct client_axfr_result *a, const struct client_axfr_result *b)
{
	if (a->n_peers != b->n_peers || a->listing.n_keys != b->listing.n_keys)
		return false;
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct client_axfr_peer *p = &a->peers[i], *o = client_axfr_find(b, p->key);
		if (!o || p->port != o->port || strcmp(p->target, o->target) != 0 || p->n_addrs != o->n_addrs ||
		    p->n_allowed != o->n_allowed)
			return false;
		for (size_t j = 0; j < p->n_addrs; j++)
			if (memcmp(&p->addrs[j], &o->addrs[j], sizeof(p->addrs[j])) != 0)
				return false;
		for (int j = 0; j < p->n_allowed; j++)
			if (memcmp(&p->allowed[j], &o->allowed[j], sizeof(p->allowed[j])) != 0)
				return false;
	}
	return true;
}

/*
 * Candidates: transferred exactly as queries answer them; registering,
 * changing and the end of a lease move the serial and are IXFR steps; a
 * renewal that changes nothing moves nothing.
 */
static void test_candidates(void)
{
	struct config_zone cz;
	struct zone_history h;
	struct received r;
	char b32[KEY_B32_LEN + 1], line[1024];

	make_cfg(&cz);
	zone_history_init(&h, 10, 1 << 20);
	struct wg_device *dev = make_device(20);
	struct cand_store *store = cand_store_new(CAND_PEER_MAX, 1000);
	struct zone *z0 = build_cands(&cz, dev, NULL, NOW, store, 0);
	CHECK(z0->n_entries > 4);
	const uint8_t *k1 = z0->entries[1].key, *k2 = z0->entries[2].key;

	/* Peer 1 registers two candidates, leased until 10 s. */
	struct cand_rec c1[2] = { cand(CAND_LAN, 0, "192.168.1.2:51820"), cand(CAND_V6, 0, "[2001:db8:1::2]:51821") };
	CHECK(cand_store_set(store, k1, c1, 2, 10000) == 0);
	struct zone *z1 = build_cands(&cz, dev, z0, NOW + 1, store, 1000);
	CHECK(z1->serial != z0->serial && z1->n_cands == 2);
	struct zone_diff *d = NULL;
	CHECK(zone_diff_new(z0, z1, &d) == 0 && d);
	CHECK(d && d->n_del == 0 && d->n_add == 5);   /* the PTR, two SRV, an A and an AAAA */
	CHECK(d && zone_history_add(&h, d) == 0);
	axfr_lines(z1, &r);
	CHECK(count_lines(&r, "_wgcand._udp.example.com.") == 3);
	entry_b32(&z1->entries[1], b32);
	snprintf(line, sizeof(line), "_wgcand._udp.example.com.\t0\tin\tptr\t%s._wgcand._udp.example.com.", b32);
	CHECK(find_line(&r, 0, r.n, line) > 0);
	snprintf(line, sizeof(line), "%s._wgcand._udp.example.com.\t0\tin\tsrv\t10 0 51820 lan-0.%s.example.com.", b32,
		 b32);
	CHECK(find_line(&r, 0, r.n, line) > 0);
	snprintf(line, sizeof(line), "%s._wgcand._udp.example.com.\t0\tin\tsrv\t20 0 51821 v6-0.%s.example.com.", b32,
		 b32);
	CHECK(find_line(&r, 0, r.n, line) > 0);
	snprintf(line, sizeof(line), "lan-0.%s.example.com.\t0\tin\ta\t192.168.1.2", b32);
	CHECK(find_line(&r, 0, r.n, line) > 0);
	snprintf(line, sizeof(line), "v6-0.%s.example.com.\t0\tin\taaaa\t2001:db8:1::2", b32);
	CHECK(find_line(&r, 0, r.n, line) > 0);
	CHECK(r.srv_whole);
	CHECK(check_axfr_matches_answers(z1, &r) > 5);
	received_free(&r);
	CHECK(ixfr_gives(z0, z1, &h));

	/* One address changes (same count, same place in the table); peer 2 registers one. */
	struct cand_rec c1b[2] = { cand(CAND_LAN, 0, "192.168.1.3:51820"), c1[1] };
	struct cand_rec c2[1] = { cand(CAND_STATIC, 0, "203.0.113.7:4000") };
	CHECK(cand_store_set(store, k1, c1b, 2, 10000) == 0);
	CHECK(cand_store_set(store, k2, c2, 1, 20000) == 0);
	struct zone *z2 = build_cands(&cz, dev, z1, NOW + 2, store, 2000);
	CHECK(z2->serial != z1->serial && z2->n_cand_entries == 2);
	CHECK(zone_diff_new(z1, z2, &d) == 0 && d);
	CHECK(d && d->n_del == 1 && d->n_add == 1 + 3);   /* peer 1's A; peer 2's PTR, SRV and A */
	CHECK(d && zone_history_add(&h, d) == 0);
	axfr_lines(z2, &r);
	CHECK(count_lines(&r, "_wgcand._udp.example.com.") == 5);
	CHECK(check_axfr_matches_answers(z2, &r) > 7);
	received_free(&r);
	CHECK(ixfr_gives(z1, z2, &h));
	/* A member reading the transfer for the listing sees the same peers with candidates as without. */
	struct client_axfr_result plain, with;
	member_reads(z0, &plain);
	member_reads(z2, &with);
	CHECK(plain.n_peers == z0->n_entries && same_reading(&plain, &with));
	client_axfr_result_clear(&with);

	/* Every peer with every candidate it may register still fits a client's transfer limits. */
	struct cand_store *full = cand_store_new(CAND_PEER_MAX, CAND_PEER_MAX * 20);
	for (size_t i = 0; i < z0->n_entries; i++) {
		struct cand_rec many[CAND_PEER_MAX];
		for (int j = 0; j < CAND_PEER_MAX; j++) {
			char ep[64];
			snprintf(ep, sizeof(ep), "[2001:db8:%zx:%x::1234:5678]:%d", i, j, 40000 + j);
			many[j] = cand(CAND_LAN, (uint8_t)j, ep);
		}
		CHECK(cand_store_set(full, z0->entries[i].key, many, CAND_PEER_MAX, 10000) == 0);
	}
	struct zone *zf = build_cands(&cz, dev, z0, NOW + 2, full, 1000);
	CHECK(zf->n_cands == z0->n_entries * CAND_PEER_MAX);
	CHECK(member_reads_within(zf, &with) == 1 && same_reading(&plain, &with));
	client_axfr_result_clear(&with);
	zone_free(zf);
	cand_store_free(full);
	client_axfr_result_clear(&plain);

	/* Renewals with the same candidates: a longer lease is no change. */
	CHECK(cand_store_set(store, k1, c1b, 2, 30000) == 0);
	CHECK(cand_store_set(store, k2, c2, 1, 20000) == 0);
	struct zone *z3 = build_cands(&cz, dev, z2, NOW + 3, store, 9000);
	CHECK(z3->serial == z2->serial);
	d = (struct zone_diff *)1;
	CHECK(zone_diff_new(z2, z3, &d) == 0 && d == NULL);

	/* Peer 2's lease ends: its records leave, with a new serial. */
	struct zone *z4 = build_cands(&cz, dev, z3, NOW + 4, store, 20000);
	CHECK(z4->serial != z3->serial && z4->n_cand_entries == 1);
	CHECK(zone_diff_new(z3, z4, &d) == 0 && d);
	CHECK(d && d->n_del == 3 && d->n_add == 0);
	CHECK(d && zone_history_add(&h, d) == 0);
	CHECK(ixfr_gives(z0, z4, &h) && ixfr_gives(z1, z4, &h) && ixfr_gives(z3, z4, &h));

	/* Every lease ended: the zone is the one without candidates again. */
	struct zone *z5 = build_cands(&cz, dev, z4, NOW + 5, store, 40000);
	CHECK(z5->serial != z4->serial && z5->n_cands == 0 && z5->digest == z0->digest);
	CHECK(zone_diff_new(z4, z5, &d) == 0 && d && zone_history_add(&h, d) == 0);
	CHECK(ixfr_gives(z2, z5, &h));
	axfr_lines(z5, &r);
	CHECK(count_lines(&r, "_wgcand") == 0);
	received_free(&r);

	zone_history_clear(&h);
	zone_free(z0);
	zone_free(z1);
	zone_free(z2);
	zone_free(z3);
	zone_free(z4);
	zone_free(z5);
	cand_store_free(store);
	wg_device_free(dev);
}

/* 10,000 idle-but-alive peers: every handshake time changes, the serial and the records do not. */
static void test_handshakes_change_nothing(void)
{
	struct config_zone cz;

	make_cfg(&cz);
	struct wg_device *dev = make_device(10000);
	struct zone *a = zone_new(&cz, dev, NULL, NOW);
	for (int round = 1; round <= 3; round++) {
		for (size_t i = 0; i < dev->n_peers; i++)
			dev->peers[i].last_handshake_sec = NOW + round * 120 - (int64_t)(i % 100);
		struct zone *b = zone_new(&cz, dev, a, NOW + round);
		struct zone_diff *d = (struct zone_diff *)1;
		CHECK(b && b->serial == a->serial);
		CHECK(zone_diff_new(a, b, &d) == 0 && d == NULL);
		zone_free(a);
		a = b;
	}
	zone_free(a);
	wg_device_free(dev);
}

/* The history keeps at most max_diffs and max_bytes, follows one chain, and empties for a diff too big. */
static void test_history_bounds(void)
{
	struct config_zone cz;
	struct zone_history h;

	make_cfg(&cz);
	struct wg_device *dev = make_device(20);
	struct zone *prev = zone_new(&cz, dev, NULL, NOW);
	uint32_t serials[12];
	zone_history_init(&h, 5, 1 << 20);
	serials[0] = prev->serial;
	for (int i = 1; i < 12; i++) {
		dev->peers[0].endpoint.in.sin_port = htons((uint16_t)(2000 + i));
		struct zone *z = zone_new(&cz, dev, prev, NOW + i);
		struct zone_diff *d = NULL;
		CHECK(zone_diff_new(prev, z, &d) == 0 && d);
		CHECK(zone_history_add(&h, d) == 0);
		serials[i] = z->serial;
		zone_free(prev);
		prev = z;
	}
	size_t first, n;
	CHECK(h.n == 5);
	CHECK(zone_history_find(&h, serials[6], serials[11], &first, &n) == 0 && n == 5);
	CHECK(zone_history_find(&h, serials[5], serials[11], &first, &n) == -ENOENT);
	/* A diff that does not follow the last one starts the history again. */
	struct zone *other = zone_new(&cz, dev, NULL, NOW + 100);
	other->serial = serials[11] + 50;
	dev->peers[1].endpoint.in.sin_port = htons(1);
	struct zone *next = zone_new(&cz, dev, other, NOW + 101);
	struct zone_diff *d = NULL;
	CHECK(zone_diff_new(other, next, &d) == 0 && d);
	CHECK(zone_history_add(&h, d) == 0 && h.n == 1);
	/* A byte bound smaller than one diff: nothing kept. */
	struct zone_history small;
	zone_history_init(&small, 5, 64);
	CHECK(zone_diff_new(other, next, &d) == 0 && d);
	CHECK(zone_history_add(&small, d) == -E2BIG && small.n == 0);
	/* ixfr-history = 0: nothing kept either. */
	zone_history_init(&small, 0, 1 << 20);
	CHECK(zone_diff_new(other, next, &d) == 0 && d);
	CHECK(zone_history_add(&small, d) == -E2BIG && small.n == 0);
	zone_history_clear(&small);
	zone_history_clear(&h);
	zone_free(other);
	zone_free(next);
	zone_free(prev);
	wg_device_free(dev);
}

/* allow-transfer lines (address, any, key), members through the tunnel, and nobody else. */
static void test_allowed(void)
{
	struct config_zone cz;
	struct config_xfr_acl acl[2];
	union sockaddr_any src;
	struct dns_client cl = { .src = &src, .ifindex = 9, .tcp = true };

	make_cfg(&cz);
	struct wg_device *dev = make_device(3);
	struct zone *z = zone_new(&cz, dev, NULL, NOW);
	memset(acl, 0, sizeof(acl));
	cidr_parse("192.0.2.0/24", false, &acl[0].prefix);
	snprintf(acl[0].key, sizeof(acl[0].key), "xfr.example.");
	cidr_parse("198.51.100.53", false, &acl[1].prefix);
	cz.allow_transfer = acl;
	cz.n_allow_transfer = 2;

	addr_parse("192.0.2.7:5000", 0, &src);
	CHECK(registry_xfr_allowed(&cz, z, &cl, "xfr.example.") == XFR_BY_ACL);
	CHECK(registry_xfr_allowed(&cz, z, &cl, NULL) == XFR_DENIED);
	CHECK(registry_xfr_allowed(&cz, z, &cl, "other.example.") == XFR_DENIED);
	addr_parse("[::ffff:192.0.2.7]:5000", 0, &src);
	CHECK(registry_xfr_allowed(&cz, z, &cl, "xfr.example.") == XFR_BY_ACL);
	/* An address-only line needs no key, and any key is fine there. */
	addr_parse("198.51.100.53:1", 0, &src);
	CHECK(registry_xfr_allowed(&cz, z, &cl, NULL) == XFR_BY_ACL);
	CHECK(registry_xfr_allowed(&cz, z, &cl, "other.example.") == XFR_BY_ACL);
	/* any + key. */
	acl[1].any = true;
	snprintf(acl[1].key, sizeof(acl[1].key), "other.example.");
	addr_parse("[2001:db8::77]:1", 0, &src);
	CHECK(registry_xfr_allowed(&cz, z, &cl, "other.example.") == XFR_BY_ACL);
	CHECK(registry_xfr_allowed(&cz, z, &cl, NULL) == XFR_DENIED);
	/* Members: a peer's allowed IP on the zone's interface; not on another interface, not when turned off. */
	addr_parse("10.0.0.1:3333", 0, &src);
	CHECK(registry_xfr_allowed(&cz, z, &cl, NULL) == XFR_BY_PEERS);
	cl.ifindex = 1;
	CHECK(registry_xfr_allowed(&cz, z, &cl, NULL) == XFR_DENIED);
	cl.ifindex = 9;
	cz.peer_transfers = false;
	CHECK(registry_xfr_allowed(&cz, z, &cl, NULL) == XFR_DENIED);
	zone_free(z);
	wg_device_free(dev);
}

/* IXFR requests: the client's serial from its SOA; anything else in authority is FORMERR. */
static void test_client_serial(void)
{
	uint8_t q[512];
	struct dns_query dq;
	uint32_t serial = 0;

	size_t n = request(LDNS_RR_TYPE_IXFR, 0xdeadbeef, q, &dq);
	CHECK(registry_xfr_client_serial(q, n, &dq, &serial) == 0 && serial == 0xdeadbeef);
	for (size_t cut = dq.question_end; cut < n; cut++)
		CHECK(registry_xfr_client_serial(q, cut, &dq, &serial) == -EBADMSG);
	n = request(LDNS_RR_TYPE_AXFR, 0, q, &dq);
	CHECK(registry_xfr_client_serial(q, n, &dq, &serial) == -EBADMSG);

	/* An error answer copies the question. */
	uint8_t out[512];
	size_t len = registry_xfr_error(q, &dq, DNS_RCODE_NOTAUTH, out, sizeof(out));
	ldns_pkt *p = NULL;
	CHECK(len > 12 && ldns_wire2pkt(&p, out, len) == LDNS_STATUS_OK);
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOTAUTH && ldns_pkt_qdcount(p) == 1 && ldns_pkt_qr(p));
	CHECK(p && !ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* With EDNS in the request, the error carries an OPT too (RFC 6891 6.1.1). */
	dq.has_edns = true;
	len = registry_xfr_error(q, &dq, DNS_RCODE_REFUSED, out, sizeof(out));
	p = NULL;
	CHECK(ldns_wire2pkt(&p, out, len) == LDNS_STATUS_OK && p && ldns_pkt_edns(p));
	CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
}

int main(void)
{
	test_axfr();
	test_ixfr();
	test_handshakes_change_nothing();
	test_candidates();
	test_history_bounds();
	test_allowed();
	test_client_serial();
	return CHECK_DONE();
}
