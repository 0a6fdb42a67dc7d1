/* SPDX-License-Identifier: MIT */
/* Client candidates, pure logic: gathering, the UPDATE, reading answers, ordering, the attempt state machine. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <ldns/ldns.h>

#include "check.h"
#include "client-candidates.h"
#include "config.h"
#include "netlink-addr.h"

#define WG_IF 9
#define LAN_IF 2
#define BUDGET 6000

static uint8_t key[WG_KEY_LEN], other[WG_KEY_LEN];

/* Set an address from text. */
static union sockaddr_any sa(const char *text)
{
	union sockaddr_any a;

	if (addr_parse(text, 0, &a) < 0)
		abort();
	return a;
}

/* An interface address. */
static struct cand_ifaddr ifaddr(uint32_t ifindex, const char *addr, uint8_t prefix, uint8_t scope, uint32_t flags)
{
	struct cand_ifaddr a;

	memset(&a, 0, sizeof(a));
	a.ifindex = ifindex;
	a.prefix = prefix;
	a.scope = scope;
	a.flags = flags;
	if (inet_pton(AF_INET, addr, a.addr) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, a.addr) == 1)
		a.family = AF_INET6;
	else
		abort();
	return a;
}

/* A candidate. */
static struct cand_rec cand(enum cand_kind kind, uint8_t index, const char *ep)
{
	struct cand_rec c;
	union sockaddr_any a = sa(ep);

	memset(&c, 0, sizeof(c));
	cand_from_sockaddr(&c, &a);
	c.kind = (uint8_t)kind;
	c.index = index;
	return c;
}

/* True when own holds kind at ep. */
static bool own_has(const struct client_candidates *cc, enum cand_kind kind, const char *ep)
{
	struct cand_rec c = cand(kind, 0, ep);

	for (size_t i = 0; i < cc->n_own; i++)
		if (cc->own[i].kind == kind && cand_same_endpoint(&cc->own[i], &c))
			return true;
	return false;
}

/* Gathering: which addresses become candidates, of which kind; configuration; extras; stability. */
static void test_gather(void)
{
	struct config_client cfg;
	struct client_candidates cc;
	struct cidr excl;
	union sockaddr_any statics[2] = { sa("203.0.113.7:4000"), sa("198.51.100.9") };
	struct cand_ifaddr ifa[] = {
		ifaddr(1, "127.0.0.1", 8, RT_SCOPE_HOST, 0),
		ifaddr(1, "::1", 128, RT_SCOPE_HOST, 0),
		ifaddr(WG_IF, "10.0.0.1", 24, RT_SCOPE_UNIVERSE, 0),              /* the tunnel itself */
		ifaddr(LAN_IF, "192.168.1.2", 24, RT_SCOPE_UNIVERSE, 0),
		ifaddr(LAN_IF, "fe80::1", 64, RT_SCOPE_LINK, 0),
		ifaddr(LAN_IF, "2001:db8:1::2", 64, RT_SCOPE_UNIVERSE, 0),
		ifaddr(LAN_IF, "2001:db8:1::99", 64, RT_SCOPE_UNIVERSE, IFA_F_TEMPORARY),
		ifaddr(LAN_IF, "2001:db8:1::98", 64, RT_SCOPE_UNIVERSE, IFA_F_TENTATIVE),
		ifaddr(LAN_IF, "2001:db8:1::97", 64, RT_SCOPE_UNIVERSE, IFA_F_DEPRECATED),
		ifaddr(LAN_IF, "fd12:3456::2", 64, RT_SCOPE_UNIVERSE, 0),         /* ULA: a LAN address */
		ifaddr(3, "172.17.0.1", 16, RT_SCOPE_UNIVERSE, 0),               /* a container bridge, excluded */
		ifaddr(4, "169.254.3.3", 16, RT_SCOPE_UNIVERSE, 0),
		ifaddr(5, "10.20.0.5", 24, RT_SCOPE_UNIVERSE, IFA_F_SECONDARY),  /* IPv4 secondary: kept */
	};
	size_t n = sizeof(ifa) / sizeof(ifa[0]);

	memset(&cfg, 0, sizeof(cfg));
	cidr_parse("172.16.0.0/12", false, &excl);
	cfg.cand_exclude = &excl;
	cfg.n_cand_exclude = 1;
	client_candidates_init(&cc, &cfg);
	CHECK(client_candidates_update(&cc, ifa, n, WG_IF, 51820) == 1);
	CHECK(cc.n_own == 4);
	CHECK(own_has(&cc, CAND_LAN, "192.168.1.2:51820") && own_has(&cc, CAND_LAN, "10.20.0.5:51820"));
	CHECK(own_has(&cc, CAND_LAN, "[fd12:3456::2]:51820") && own_has(&cc, CAND_V6, "[2001:db8:1::2]:51820"));
	/* Indexes are per kind and the set does not depend on the order the kernel listed the addresses in. */
	struct cand_rec first[CLIENT_CANDIDATES_OWN_MAX];
	memcpy(first, cc.own, sizeof(first));
	for (size_t i = 0; i < n / 2; i++) {
		struct cand_ifaddr t = ifa[i];
		ifa[i] = ifa[n - 1 - i];
		ifa[n - 1 - i] = t;
	}
	CHECK(client_candidates_update(&cc, ifa, n, WG_IF, 51820) == 0);
	CHECK(memcmp(first, cc.own, sizeof(first)) == 0);
	/* A new address, a new listen port: changes. */
	CHECK(client_candidates_update(&cc, ifa, n, WG_IF, 51821) == 1 && own_has(&cc, CAND_LAN, "192.168.1.2:51821"));
	CHECK(client_candidates_update(&cc, ifa + 1, n - 1, WG_IF, 51821) == 1 && cc.n_own == 3);   /* 10.20.0.5 gone */
	/* No listen port known: nothing gathered. */
	CHECK(client_candidates_update(&cc, ifa, n, WG_IF, 0) == 1 && cc.n_own == 0);

	/* Configured addresses, "none": only those, with the listen port for a bare address. */
	cfg.cand_none = true;
	cfg.cand_statics = statics;
	cfg.n_cand_statics = 2;
	client_candidates_init(&cc, &cfg);
	CHECK(client_candidates_update(&cc, ifa, n, WG_IF, 51820) == 1 && cc.n_own == 2);
	CHECK(own_has(&cc, CAND_STATIC, "203.0.113.7:4000") && own_has(&cc, CAND_STATIC, "198.51.100.9:51820"));
	/* The port-mapping seam. */
	union sockaddr_any m = sa("198.51.100.1:30000"), lo = sa("127.0.0.1:1");
	CHECK(client_candidates_set_extra(&cc, CAND_MAPPED, &m) == 1);
	CHECK(client_candidates_set_extra(&cc, CAND_MAPPED, &m) == 0);
	CHECK(client_candidates_set_extra(&cc, CAND_LAN, &m) == -EINVAL);
	CHECK(client_candidates_set_extra(&cc, CAND_MAPPED, &lo) == -EINVAL);
	CHECK(client_candidates_update(&cc, ifa, n, WG_IF, 51820) == 1 && own_has(&cc, CAND_MAPPED, "198.51.100.1:30000"));
	CHECK(client_candidates_set_extra(&cc, CAND_MAPPED, NULL) == 1 && client_candidates_set_extra(&cc, CAND_MAPPED, NULL) == 0);
	CHECK(client_candidates_update(&cc, ifa, n, WG_IF, 51820) == 1 && cc.n_own == 2);
	/* At most CLIENT_CANDIDATES_OWN_MAX, configured ones kept first. */
	struct cand_ifaddr many[20];
	for (int i = 0; i < 20; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.168.%d.2", i);
		many[i] = ifaddr(LAN_IF, a, 24, RT_SCOPE_UNIVERSE, 0);
	}
	cfg.cand_none = false;
	client_candidates_init(&cc, &cfg);
	CHECK(client_candidates_update(&cc, many, 20, WG_IF, 51820) == 1 && cc.n_own == CLIENT_CANDIDATES_OWN_MAX);
	CHECK(own_has(&cc, CAND_STATIC, "203.0.113.7:4000"));
	CHECK(client_candidates_lease_s(10000) == 120 && client_candidates_lease_s(60000) == 240 &&
	      client_candidates_lease_s(86400000) == 3600);
}

/* The UPDATE as ldns reads it, and a buffer too small. */
static void test_update_msg(void)
{
	struct cand_rec c[2] = { cand(CAND_LAN, 0, "192.168.1.2:51820"), cand(CAND_V6, 0, "[2001:db8::2]:51820") };
	uint8_t buf[4096];
	ldns_pkt *p = NULL;
	int n = client_candidates_update_msg(key, "example.com.", c, 2, 240, buf, sizeof(buf));

	CHECK(n > 0 && ldns_wire2pkt(&p, buf, (size_t)n) == LDNS_STATUS_OK);
	if (p) {
		CHECK(ldns_pkt_get_opcode(p) == LDNS_PACKET_UPDATE && !ldns_pkt_qr(p));
		CHECK(ldns_rr_list_rr_count(ldns_pkt_question(p)) == 1 && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 0);
		CHECK(ldns_rr_list_rr_count(ldns_pkt_authority(p)) == 5);
		CHECK(client_candidates_granted_lease(p) == 240);
		ldns_pkt_free(p);
	}
	CHECK(client_candidates_update_msg(key, "example.com.", c, 2, 240, buf, 100) == -ENOBUFS);
	CHECK(client_candidates_update_msg(key, "bad..name.", c, 2, 240, buf, sizeof(buf)) == -EINVAL);
}

/* Build a response packet from text records. */
static ldns_pkt *response(const char *const *answer, const char *const *additional)
{
	ldns_pkt *p = ldns_pkt_new();

	ldns_pkt_set_qr(p, true);
	for (; answer && *answer; answer++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, *answer, 0, NULL, NULL) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	for (; additional && *additional; additional++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, *additional, 0, NULL, NULL) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL, rr);
	}
	return p;
}

/* Reading a peer's candidates: foreign, malformed and unusable records are skipped. */
static void test_parse(void)
{
	char b[KEY_B32_LEN + 1], o[KEY_B32_LEN + 1], lower[KEY_B32_LEN + 1];
	char a[12][400], d[8][400];
	struct cand_rec got[CAND_PEER_MAX];

	key_to_base32(key, b);
	key_to_base32(other, o);
	for (int i = 0; i <= KEY_B32_LEN; i++)
		lower[i] = (char)(b[i] >= 'A' && b[i] <= 'Z' ? b[i] | 0x20 : b[i]);
	snprintf(a[0], 400, "%s._wgcand._udp.example.com. 0 IN SRV 10 0 51820 lan-0.%s.example.com.", b, lower);
	snprintf(a[1], 400, "%s._wgcand._udp.example.com. 0 IN SRV 20 0 51821 v6-0.%s.example.com.", b, b);
	snprintf(a[2], 400, "%s._wgcand._udp.example.com. 0 IN SRV 10 0 1 lan-1.%s.example.com.", b, o);     /* other key */
	snprintf(a[3], 400, "%s._wgcand._udp.example.com. 0 IN SRV 10 0 1 foo-1.%s.example.com.", b, b);     /* bad label */
	snprintf(a[4], 400, "%s._wgcand._udp.example.com. 0 IN SRV 10 0 1 lan-2.%s.example.com.", b, b);     /* no address */
	snprintf(a[5], 400, "%s._wgcand._udp.example.com. 0 IN SRV 10 0 1 lan-3.%s.example.com.", b, b);     /* loopback */
	snprintf(a[6], 400, "%s._wgcand._udp.example.com. 0 IN SRV 10 0 1 lan-4.%s.example.org.", b, b);     /* other zone */
	snprintf(a[7], 400, "%s._wgcand._udp.example.com. 0 IN SRV 10 0 51820 lan-5.%s.example.com.", o, b); /* other owner */
	snprintf(a[8], 400, "%s._wgcand._udp.example.com. 0 IN SRV 10 0 51820 lan-0.%s.example.com.", b, b); /* duplicate */
	snprintf(d[0], 400, "lan-0.%s.example.com. 0 IN A 192.168.1.3", b);
	snprintf(d[1], 400, "v6-0.%s.example.com. 0 IN AAAA 2001:db8::3", b);
	snprintf(d[2], 400, "lan-1.%s.example.com. 0 IN A 192.168.1.4", o);
	snprintf(d[3], 400, "foo-1.%s.example.com. 0 IN A 192.168.1.5", b);
	snprintf(d[4], 400, "lan-3.%s.example.com. 0 IN A 127.0.0.1", b);
	snprintf(d[5], 400, "lan-4.%s.example.org. 0 IN A 192.168.1.6", b);
	snprintf(d[6], 400, "lan-5.%s.example.com. 0 IN A 192.168.1.7", b);
	const char *ans[] = { a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], NULL };
	const char *add[] = { d[0], d[1], d[2], d[3], d[4], d[5], d[6], NULL };
	ldns_pkt *p = response(ans, add);
	int n = client_candidates_parse(p, key, "example.com.", got, CAND_PEER_MAX);

	CHECK(n == 2);
	CHECK(n == 2 && got[0].kind == CAND_LAN && got[0].port == 51820 && got[1].kind == CAND_V6 && got[1].port == 51821);
	CHECK(client_candidates_parse(p, key, "example.com.", got, 1) == 1);
	ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
	CHECK(client_candidates_parse(p, key, "example.com.", got, CAND_PEER_MAX) == -ENOENT);
	ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
	CHECK(client_candidates_parse(p, key, "example.com.", got, CAND_PEER_MAX) == -EPROTO);
	ldns_pkt_free(p);
}

/* This host for the ordering tests: a LAN, optionally a global IPv6 address, and its public address. */
static struct cand_ifaddr self_ifa[3];
static union sockaddr_any self_pub[1];

/* Fill a self description. */
static struct client_candidates_self self(bool v6, bool pub_known)
{
	struct client_candidates_self s = { .ifaddrs = self_ifa, .n_ifaddrs = v6 ? 3 : 2, .wg_ifindex = WG_IF,
					    .public_addrs = self_pub, .n_public = pub_known ? 1 : 0 };

	self_ifa[0] = ifaddr(WG_IF, "10.0.0.1", 24, RT_SCOPE_UNIVERSE, 0);
	self_ifa[1] = ifaddr(LAN_IF, "192.168.1.2", 24, RT_SCOPE_UNIVERSE, 0);
	self_ifa[2] = ifaddr(LAN_IF, "2001:db8:1::2", 64, RT_SCOPE_UNIVERSE, 0);
	self_pub[0] = sa("203.0.113.10:30001");
	return s;
}

/* Index of the entry with kind in an order, -1 when absent. */
static int find(const struct client_candidates_try *t, size_t n, enum cand_kind kind)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].kind == kind)
			return (int)i;
	return -1;
}

/* Order: LAN behind the same public address and on a local subnet first, IPv6 when both have it, then the rest. */
static void test_order(void)
{
	struct cand_rec c[5] = { cand(CAND_LAN, 0, "192.168.1.3:51820"), cand(CAND_V6, 0, "[2001:db8:2::3]:51820"),
				 cand(CAND_MAPPED, 0, "203.0.113.10:40000"), cand(CAND_STATIC, 0, "198.51.100.5:5000"),
				 cand(CAND_LAN, 1, "10.99.0.3:51820") };
	union sockaddr_any same = sa("203.0.113.10:30002"), elsewhere = sa("203.0.113.20:30002");
	struct client_candidates_try t[CLIENT_CANDIDATES_TRY_MAX];
	struct client_candidates_self s = self(true, true);
	size_t n = client_candidates_order(&s, c, 5, &same, NULL, t, CLIENT_CANDIDATES_TRY_MAX);

	CHECK(n == 6);
	union sockaddr_any lan0 = sa("192.168.1.3:51820");
	CHECK(t[0].kind == CAND_LAN && !t[0].skip && addr_equal(&t[0].ep, &lan0));
	CHECK(t[1].kind == CAND_LAN && t[1].skip && strstr(t[1].skip, "subnet"));   /* 10.99.0.3: not on a local subnet */
	CHECK(t[2].kind == CAND_V6 && !t[2].skip);
	CHECK(t[3].kind == CAND_REGISTRY && t[4].kind == CAND_STATIC && t[5].kind == CAND_MAPPED);
	/* Another public address: the same private subnet is another home's. */
	n = client_candidates_order(&s, c, 5, &elsewhere, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(n == 6 && t[0].kind == CAND_LAN && t[0].skip && strstr(t[0].skip, "public address"));
	s = self(true, false);
	n = client_candidates_order(&s, c, 5, &same, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(t[0].skip && strstr(t[0].skip, "not known"));
	/* No global IPv6 here. */
	s = self(false, true);
	n = client_candidates_order(&s, c, 5, &same, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	int v6 = find(t, n, CAND_V6);
	CHECK(v6 >= 0 && t[v6].skip && strstr(t[v6].skip, "IPv6"));
	/* A candidate equal to the registry's endpoint appears once; what worked goes first. */
	union sockaddr_any mapped = sa("203.0.113.10:40000");
	s = self(true, true);
	n = client_candidates_order(&s, c, 5, &mapped, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(n == 5 && find(t, n, CAND_MAPPED) < 0);
	union sockaddr_any worked = sa("[2001:db8:2::3]:51820");
	n = client_candidates_order(&s, c, 5, &same, &worked, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(t[0].kind == CAND_V6 && t[1].kind == CAND_LAN);
	/* Endpoint checks: a candidate inside the tunnel's own networks (a loop) is skipped with that reason. */
	struct cidr net;
	cidr_parse("192.168.1.0/24", false, &net);
	struct client_local l = { .dev_nets = &net, .n_dev_nets = 1 };
	s.local = &l;
	n = client_candidates_order(&s, c, 5, &same, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(t[0].kind == CAND_LAN && t[0].skip && !strstr(t[0].skip, "public"));
	/* A full list is cut, not overrun. */
	n = client_candidates_order(&s, c, 5, &same, NULL, t, 2);
	CHECK(n == 2);
}

/* The attempt state machine: one candidate at a time, a bounded time each, what worked remembered. */
static void test_step(void)
{
	struct cand_rec c[2] = { cand(CAND_LAN, 0, "192.168.1.3:51820"), cand(CAND_V6, 0, "[2001:db8:2::3]:51820") };
	union sockaddr_any obs = sa("203.0.113.10:30002"), none, w;
	struct client_candidates_try t[CLIENT_CANDIDATES_TRY_MAX];
	struct client_candidates_self s = self(true, true);
	struct client_candidates_peer st;
	size_t n = client_candidates_order(&s, c, 2, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	uint64_t t0 = 1000000;

	memset(&st, 0, sizeof(st));
	memset(&none, 0, sizeof(none));
	CHECK(n == 3);
	CHECK(client_candidates_step(&st, t, n, &none, t0, BUDGET, &w) == CLIENT_CANDIDATES_WRITE && addr_equal(&w, &t[0].ep));
	CHECK(client_candidates_deadline(&st, BUDGET) == t0 + BUDGET);
	/* Within the budget: nothing else is written. */
	CHECK(client_candidates_step(&st, t, n, &t[0].ep, t0 + BUDGET - 1, BUDGET, &w) == CLIENT_CANDIDATES_WAIT);
	CHECK(strcmp(client_candidates_entry_state(&st, &t[0]), "trying") == 0);
	/* The LAN candidate had its time: the next one. */
	CHECK(client_candidates_step(&st, t, n, &t[0].ep, t0 + BUDGET, BUDGET, &w) == CLIENT_CANDIDATES_WRITE && addr_equal(&w, &t[1].ep));
	CHECK(strcmp(client_candidates_entry_state(&st, &t[0]), "failed") == 0);
	CHECK(client_candidates_step(&st, t, n, &t[1].ep, t0 + 2 * BUDGET, BUDGET, &w) == CLIENT_CANDIDATES_WRITE &&
	      t[2].kind == CAND_REGISTRY && addr_equal(&w, &t[2].ep));
	/* Everything tried: back to the registry's endpoint (DEFAULT), and resting. */
	CHECK(client_candidates_step(&st, t, n, &t[2].ep, t0 + 3 * BUDGET, BUDGET, &w) == CLIENT_CANDIDATES_DEFAULT);
	CHECK(st.state == CLIENT_CANDIDATES_EXHAUSTED && client_candidates_deadline(&st, BUDGET) == 0);
	CHECK(client_candidates_step(&st, t, n, &t[2].ep, t0 + 3 * BUDGET + CLIENT_CANDIDATES_REST_MS - 1, BUDGET, &w) ==
	      CLIENT_CANDIDATES_DEFAULT);
	CHECK(st.attempts[CAND_LAN] == 1 && st.attempts[CAND_V6] == 1 && st.attempts[CAND_REGISTRY] == 1);
	/* After the rest, a new round from the top. */
	CHECK(client_candidates_step(&st, t, n, &t[2].ep, t0 + 3 * BUDGET + CLIENT_CANDIDATES_REST_MS, BUDGET, &w) ==
	      CLIENT_CANDIDATES_WRITE && addr_equal(&w, &t[0].ep));
	/* A handshake over it: remembered, counted, the round ends. */
	client_candidates_fresh(&st, &t[0].ep, t, n);
	CHECK(st.state == CLIENT_CANDIDATES_IDLE && st.has_worked && st.worked_kind == CAND_LAN && st.successes[CAND_LAN] == 1);
	CHECK(strcmp(client_candidates_entry_state(&st, &t[0]), "worked") == 0);
	/* Stale again later: what worked first, even when it is not first in the kinds' order. */
	st.worked = t[1].ep;
	st.worked_kind = CAND_V6;
	n = client_candidates_order(&s, c, 2, &obs, &st.worked, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(client_candidates_step(&st, t, n, &t[2].ep, t0 + 10 * BUDGET, BUDGET, &w) == CLIENT_CANDIDATES_WRITE &&
	      w.sa.sa_family == AF_INET6);
	/* New candidates while resting start a new round at once. */
	memset(&st, 0, sizeof(st));
	n = client_candidates_order(&s, c, 1, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	client_candidates_step(&st, t, n, &none, t0, BUDGET, &w);
	client_candidates_step(&st, t, n, &t[0].ep, t0 + BUDGET, BUDGET, &w);
	CHECK(client_candidates_step(&st, t, n, &t[1].ep, t0 + 2 * BUDGET, BUDGET, &w) == CLIENT_CANDIDATES_DEFAULT);
	n = client_candidates_order(&s, c, 2, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(client_candidates_step(&st, t, n, &t[2].ep, t0 + 2 * BUDGET + 1, BUDGET, &w) == CLIENT_CANDIDATES_WRITE);
	/* Only the registry's endpoint: exactly the client's behaviour without candidates, no state. */
	memset(&st, 0, sizeof(st));
	n = client_candidates_order(&s, NULL, 0, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(n == 1 && client_candidates_step(&st, t, n, &none, t0, BUDGET, &w) == CLIENT_CANDIDATES_DEFAULT);
	CHECK(st.state == CLIENT_CANDIDATES_IDLE && st.attempts[CAND_REGISTRY] == 0);
	/* The same when every candidate is skipped (another home's LAN). */
	union sockaddr_any elsewhere = sa("203.0.113.20:1");
	s = self(false, true);
	n = client_candidates_order(&s, c, 2, &elsewhere, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(n == 3 && client_candidates_step(&st, t, n, &none, t0, BUDGET, &w) == CLIENT_CANDIDATES_DEFAULT);
	/* The first candidate already in place: it gets its time without a write. */
	memset(&st, 0, sizeof(st));
	s = self(true, true);
	n = client_candidates_order(&s, c, 2, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(client_candidates_step(&st, t, n, &t[0].ep, t0, BUDGET, &w) == CLIENT_CANDIDATES_WAIT && st.attempts[CAND_LAN] == 1);
	/* The peer answered from somewhere else (its own packets): remembered as such. */
	union sockaddr_any roamed = sa("203.0.113.30:1234");
	client_candidates_fresh(&st, &roamed, t, n);
	CHECK(st.has_worked && st.worked_kind == CAND_KIND_MAX && st.successes[CAND_LAN] == 0);
}


/*
 * The relay waits for the walk: walking while a candidate has time or an
 * untried one other than the registry's endpoint is left, not once the
 * round is exhausted or when the registry's endpoint is all there is.
 */
static void test_walking(void)
{
	struct cand_rec c[1] = { cand(CAND_MAPPED, 0, "203.0.113.20:51820") };
	union sockaddr_any obs = sa("203.0.113.20:30002"), w;
	struct client_candidates_try t[CLIENT_CANDIDATES_TRY_MAX];
	struct client_candidates_self s = self(false, true);
	struct client_candidates_peer st;
	size_t n = client_candidates_order(&s, c, 1, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	uint64_t t0 = 1000000;

	memset(&st, 0, sizeof(st));
	CHECK(n == 2 && t[0].kind == CAND_REGISTRY && t[1].kind == CAND_MAPPED);
	/* A round about to start (the mapped candidate is known, nothing tried yet). */
	CHECK(client_candidates_walking(&st, t, n, t0, BUDGET));
	/* The registry's endpoint is in place (as the client wrote it before the candidates were known). */
	CHECK(client_candidates_step(&st, t, n, &obs, t0, BUDGET, &w) == CLIENT_CANDIDATES_WAIT);
	CHECK(client_candidates_walking(&st, t, n, t0 + BUDGET - 1, BUDGET));
	/* Its time is over but the mapped candidate is untried: still walking (this was the race). */
	CHECK(client_candidates_walking(&st, t, n, t0 + BUDGET + 10000, BUDGET));
	CHECK(client_candidates_step(&st, t, n, &obs, t0 + BUDGET, BUDGET, &w) == CLIENT_CANDIDATES_WRITE &&
	      addr_equal(&w, &t[1].ep));
	CHECK(client_candidates_walking(&st, t, n, t0 + 2 * BUDGET - 1, BUDGET));
	/* The last one had its full time: nothing left, before and after the step that ends the round. */
	CHECK(!client_candidates_walking(&st, t, n, t0 + 2 * BUDGET, BUDGET));
	CHECK(client_candidates_step(&st, t, n, &t[1].ep, t0 + 2 * BUDGET, BUDGET, &w) == CLIENT_CANDIDATES_DEFAULT);
	CHECK(!client_candidates_walking(&st, t, n, t0 + 2 * BUDGET + 1, BUDGET));
	/* The registry's endpoint alone: nothing to walk (relay-after alone decides). */
	memset(&st, 0, sizeof(st));
	n = client_candidates_order(&s, NULL, 0, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(n == 1 && !client_candidates_walking(&st, t, n, t0, BUDGET));
	/* A skipped candidate (a LAN one not behind this host's address) is nothing to wait for. */
	c[0] = cand(CAND_LAN, 0, "192.168.77.3:51820");
	n = client_candidates_order(&s, c, 1, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(n == 2 && t[0].skip && !client_candidates_walking(&st, t, n, t0, BUDGET));
	/* No list at all (no round ran yet). */
	CHECK(!client_candidates_walking(&st, t, 0, t0, BUDGET));
}

/* A relayed peer's direct tries go round its usable entries, mapped first; the digest follows the list. */
static void test_pick_direct(void)
{
	struct cand_rec c[3] = { cand(CAND_LAN, 0, "192.168.77.3:51820"), cand(CAND_MAPPED, 0, "203.0.113.20:51820"),
				 cand(CAND_STATIC, 0, "198.51.100.7:51820") };
	union sockaddr_any obs = sa("203.0.113.20:30002"), w;
	struct client_candidates_try t[CLIENT_CANDIDATES_TRY_MAX];
	struct client_candidates_self s = self(false, true);
	size_t n = client_candidates_order(&s, c, 3, &obs, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	uint64_t d1 = client_candidates_digest(t, n, NULL, 0);

	CHECK(client_candidates_pick_direct(t, n, 0, &w) && addr_equal(&w, &t[find(t, n, CAND_MAPPED)].ep));
	CHECK(client_candidates_pick_direct(t, n, 1, &w) && addr_equal(&w, &obs));
	CHECK(client_candidates_pick_direct(t, n, 2, &w) && addr_equal(&w, &t[find(t, n, CAND_STATIC)].ep));
	/* Round again; never the skipped LAN candidate. */
	CHECK(client_candidates_pick_direct(t, n, 3, &w) && addr_equal(&w, &t[find(t, n, CAND_MAPPED)].ep));
	/* A new registry endpoint (the NAT maps differently now): another digest. */
	union sockaddr_any obs2 = sa("203.0.113.20:40123");
	n = client_candidates_order(&s, c, 3, &obs2, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(client_candidates_digest(t, n, NULL, 0) != d1 && client_candidates_digest(t, n, NULL, 0) != 0);
	/* This host's own public endpoint changed (its NAT maps differently now): another digest too. */
	union sockaddr_any mine[2] = { sa("203.0.113.10:30001"), sa("203.0.113.10:31234") };
	uint64_t d2 = client_candidates_digest(t, n, &mine[0], 1);
	CHECK(d2 != client_candidates_digest(t, n, NULL, 0) && d2 != client_candidates_digest(t, n, &mine[1], 1));
	CHECK(d2 == client_candidates_digest(t, n, &mine[0], 1));
	/* Nothing usable: nothing to try. */
	n = client_candidates_order(&s, c, 1, NULL, NULL, t, CLIENT_CANDIDATES_TRY_MAX);
	CHECK(n == 1 && t[0].skip && !client_candidates_pick_direct(t, n, 0, &w));
}
/* Append an attribute to a netlink message buffer. */
static size_t nl_attr(uint8_t *buf, size_t off, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };

	memcpy(buf + off, &a, sizeof(a));
	memcpy(buf + off + NLA_HDRLEN, data, len);
	return off + NLA_ALIGN(a.nla_len);
}

/* RTM_NEWADDR messages: IFA_LOCAL over IFA_ADDRESS, IFA_FLAGS over the byte, malformed ones refused. */
static void test_netlink_parse(void)
{
	uint8_t buf[256] = { 0 };
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct ifaddrmsg *ifa = (struct ifaddrmsg *)(buf + NLMSG_HDRLEN);
	uint8_t local[4] = { 192, 168, 1, 2 }, peer[4] = { 192, 168, 1, 9 }, six[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint32_t flags = IFA_F_TENTATIVE | IFA_F_TEMPORARY;
	struct cand_ifaddr out;
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*ifa));

	nlh->nlmsg_type = RTM_NEWADDR;
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 24;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = 4;
	ifa->ifa_flags = IFA_F_PERMANENT;
	off = nl_attr(buf, off, IFA_ADDRESS, peer, 4);
	off = nl_attr(buf, off, IFA_LOCAL, local, 4);
	off = nl_attr(buf, off, 999, "xx", 2);   /* unknown: ignored */
	nlh->nlmsg_len = (uint32_t)off;
	CHECK(netlink_addr_parse(nlh, &out) == 0 && out.ifindex == 4 && out.prefix == 24 &&
	      memcmp(out.addr, local, 4) == 0 && out.flags == IFA_F_PERMANENT);
	/* IPv6 with IFA_FLAGS (32 bits) and only IFA_ADDRESS. */
	memset(buf, 0, sizeof(buf));
	nlh->nlmsg_type = RTM_NEWADDR;
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = 200;   /* clamped */
	off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*ifa));
	off = nl_attr(buf, off, IFA_ADDRESS, six, 16);
	off = nl_attr(buf, off, IFA_FLAGS, &flags, 4);
	nlh->nlmsg_len = (uint32_t)off;
	CHECK(netlink_addr_parse(nlh, &out) == 0 && out.family == AF_INET6 && out.prefix == 128 && out.flags == flags);
	/* An attribute running past the message, a wrong address length, no address, another type. */
	nlh->nlmsg_len = (uint32_t)off - 2;
	CHECK(netlink_addr_parse(nlh, &out) == -EBADMSG);
	nlh->nlmsg_len = (uint32_t)off;
	ifa->ifa_family = AF_INET;
	CHECK(netlink_addr_parse(nlh, &out) == -EBADMSG);
	nlh->nlmsg_len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*ifa));
	CHECK(netlink_addr_parse(nlh, &out) == -EBADMSG);
	nlh->nlmsg_len = NLMSG_HDRLEN;
	CHECK(netlink_addr_parse(nlh, &out) == -EBADMSG);
	nlh->nlmsg_type = RTM_NEWLINK;
	CHECK(netlink_addr_parse(nlh, &out) == -ENOENT);
}

int main(void)
{
	for (int i = 0; i < WG_KEY_LEN; i++) {
		key[i] = (uint8_t)(i * 7 + 3);
		other[i] = (uint8_t)(i * 13 + 5);
	}
	test_gather();
	test_update_msg();
	test_parse();
	test_order();
	test_step();
	test_walking();
	test_pick_direct();
	test_netlink_parse();
	return CHECK_DONE();
}
