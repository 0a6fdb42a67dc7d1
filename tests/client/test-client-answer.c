/* SPDX-License-Identifier: MIT */
/* Client answer logic: both registry record layouts, case variants, glue, choice, candidates. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "client-answer.h"

static uint8_t key1[WG_KEY_LEN];
static uint8_t key2[WG_KEY_LEN];
static char b32_1[KEY_B32_LEN + 1];
static char b64_1[KEY_B64_LEN + 1];

/* A response packet with the given rcode and no records. */
static ldns_pkt *pkt_new(ldns_pkt_rcode rcode)
{
	ldns_pkt *p = ldns_pkt_new();

	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	return p;
}

/* Add one record given in presentation form to a section. */
static void pkt_add(ldns_pkt *p, ldns_pkt_section s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pkt_add(ldns_pkt *p, ldns_pkt_section s, const char *fmt, ...)
{
	char text[1024];
	ldns_rr *rr = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK) {
		fprintf(stderr, "bad test record: %s\n", text);
		abort();
	}
	ldns_pkt_push_rr(p, s, rr);
}

/* Lower-case copy of s (static buffer). */
static const char *lower(const char *s)
{
	static char buf[512];
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
	return buf;
}

/* Names are built as the registry would. */
static void test_qname(void)
{
	char name[300];

	CHECK(client_answer_qname(key1, "example.com.", name, sizeof(name)) == 0);
	CHECK(strncmp(name, b32_1, KEY_B32_LEN) == 0);
	CHECK(strcmp(name + KEY_B32_LEN, "._wireguard._udp.example.com.") == 0);
	CHECK(client_answer_qname(key1, "example.com", name, sizeof(name)) == 0);
	CHECK(strcmp(name + KEY_B32_LEN, "._wireguard._udp.example.com.") == 0);
	CHECK(client_answer_qname(key1, "example.com.", name, 40) == -ENAMETOOLONG);
}

/* First plugin layout: SRV target B.ZONE, A and TXT in additional. */
static void test_layout_short_target(void)
{
	struct client_answer a;
	ldns_pkt *p = pkt_new(LDNS_RCODE_NOERROR);
	char buf[ADDR_STRLEN];

	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 51820 %s.example.com.", b32_1, b32_1);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s.example.com. 0 IN A 198.51.100.7", b32_1);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s._wireguard._udp.example.com. 0 IN TXT \"txtvers=1\" \"pub=%s\" \"allowed=10.0.0.1/32\" \"seen=42\"", b32_1, b64_1);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_OK);
	CHECK(a.port == 51820);
	CHECK(a.n_addrs == 1);
	CHECK(strcmp(addr_format(&a.addrs[0], buf, sizeof(buf)), "198.51.100.7:51820") == 0);
	CHECK(a.has_seen && a.seen == 42);
	CHECK(strcmp(a.target, lower(b32_1)) == 0 || strncmp(a.target, lower(b32_1), KEY_B32_LEN) == 0);
	ldns_pkt_free(p);
}

/* Later plugin layout: SRV target B._wireguard._udp.ZONE, AAAA in additional, no TXT. */
static void test_layout_service_target(void)
{
	struct client_answer a;
	ldns_pkt *p = pkt_new(LDNS_RCODE_NOERROR);
	char buf[ADDR_STRLEN];

	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 4500 %s._wireguard._udp.example.com.", b32_1, b32_1);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s._wireguard._udp.example.com. 0 IN AAAA 2001:db8::7", b32_1);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_OK);
	CHECK(a.n_addrs == 1);
	CHECK(strcmp(addr_format(&a.addrs[0], buf, sizeof(buf)), "[2001:db8::7]:4500") == 0);
	CHECK(!a.has_seen);
	ldns_pkt_free(p);
}

/* Lower-case, unpadded and mixed-case names from other registries are accepted. */
static void test_case_variants(void)
{
	struct client_answer a;
	char unpadded[KEY_B32_UNPADDED_LEN + 1];
	ldns_pkt *p;

	/* Lower-case everything, zone in upper case in the records. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.EXAMPLE.COM. 0 IN SRV 0 0 51820 %s.EXAMPLE.com.", lower(b32_1), lower(b32_1));
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s.example.COM. 0 IN A 192.0.2.9", lower(b32_1));
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_OK && a.n_addrs == 1 && a.port == 51820);
	ldns_pkt_free(p);

	/* Unpadded base32 in the target, upper-case zone configured. */
	memcpy(unpadded, b32_1, KEY_B32_UNPADDED_LEN);
	unpadded[KEY_B32_UNPADDED_LEN] = '\0';
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 1000 %s._WireGuard._UDP.example.com.", b32_1, lower(unpadded));
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s._wireguard._udp.example.com. 0 IN A 192.0.2.10", unpadded);
	client_answer_parse_srv(p, key1, "Example.Com.", &a);
	CHECK(a.status == CLIENT_ANSWER_OK && a.n_addrs == 1 && a.port == 1000);
	ldns_pkt_free(p);
}

/* No address in the additional section: the caller adds them from A/AAAA answers. */
static void test_missing_additional(void)
{
	struct client_answer a;
	ldns_pkt *p = pkt_new(LDNS_RCODE_NOERROR), *g;
	char buf[ADDR_STRLEN];

	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 51820 %s.example.com.", b32_1, b32_1);
	/* A record of some other name must not be taken. */
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "other.example.com. 0 IN A 203.0.113.66");
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_OK && a.n_addrs == 0 && a.port == 51820);

	g = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(g, LDNS_SECTION_ANSWER, "%s.EXAMPLE.com. 0 IN A 203.0.113.5", lower(b32_1));
	pkt_add(g, LDNS_SECTION_ANSWER, "other.example.com. 0 IN A 203.0.113.66");
	CHECK(client_answer_add_addrs(g, &a) == 1);
	CHECK(a.n_addrs == 1 && strcmp(addr_format(&a.addrs[0], buf, sizeof(buf)), "203.0.113.5:51820") == 0);
	/* The same address again is not duplicated. */
	CHECK(client_answer_add_addrs(g, &a) == 0);
	ldns_pkt_free(g);
	g = pkt_new(LDNS_RCODE_NXDOMAIN);
	CHECK(client_answer_add_addrs(g, &a) == -EBADMSG);
	ldns_pkt_free(g);
	g = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(g, LDNS_SECTION_ANSWER, "%s.example.com. 0 IN AAAA 2001:db8::5", b32_1);
	CHECK(client_answer_add_addrs(g, &a) == 1 && a.n_addrs == 2);
	CHECK(a.addrs[1].sa.sa_family == AF_INET6 && addr_port(&a.addrs[1]) == 51820);
	ldns_pkt_free(g);
	ldns_pkt_free(p);
}

/* Rcodes and inconsistent answers. */
static void test_bad_answers(void)
{
	char b32_2[KEY_B32_LEN + 1];
	char b64_2[KEY_B64_LEN + 1];
	struct client_answer a;
	ldns_pkt *p;

	key_to_base32(key2, b32_2);
	key_to_base64(key2, b64_2);

	p = pkt_new(LDNS_RCODE_NXDOMAIN);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_NXDOMAIN);
	ldns_pkt_free(p);

	p = pkt_new(LDNS_RCODE_SERVFAIL);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_RCODE && a.rcode == LDNS_RCODE_SERVFAIL);
	ldns_pkt_free(p);

	p = pkt_new(LDNS_RCODE_NOERROR);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_NODATA);
	ldns_pkt_free(p);

	/* SRV for another peer's name: not ours, so NODATA. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 51820 %s.example.com.", b32_2, b32_2);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_NODATA);
	ldns_pkt_free(p);

	/* Target naming another key. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 51820 %s.example.com.", b32_1, b32_2);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s.example.com. 0 IN A 198.51.100.7", b32_2);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_BAD && a.n_addrs == 0);
	ldns_pkt_free(p);

	/* Target outside the zone. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 51820 %s.example.net.", b32_1, b32_1);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s.example.net. 0 IN A 198.51.100.7", b32_1);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_BAD);
	ldns_pkt_free(p);

	/* Port 0. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 0 %s.example.com.", b32_1, b32_1);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_BAD);
	ldns_pkt_free(p);

	/* TXT claims another key. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 51820 %s.example.com.", b32_1, b32_1);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s.example.com. 0 IN A 198.51.100.7", b32_1);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s._wireguard._udp.example.com. 0 IN TXT \"pub=%s\" \"seen=1\"", b32_1, b64_2);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_BAD);
	ldns_pkt_free(p);

	/* Garbage seen values are ignored, not errors. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 51820 %s.example.com.", b32_1, b32_1);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s._wireguard._udp.example.com. 0 IN TXT \"seen=-4\" \"seen=12x\"", b32_1);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_OK && !a.has_seen);
	ldns_pkt_free(p);

	/* Two SRVs: the lowest priority wins. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 10 0 1111 %s.example.com.", b32_1, b32_1);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 5 0 2222 %s.example.com.", b32_1, b32_1);
	client_answer_parse_srv(p, key1, "example.com.", &a);
	CHECK(a.status == CLIENT_ANSWER_OK && a.port == 2222);
	ldns_pkt_free(p);
}

/* An OK answer with one address. */
static struct client_answer make_answer(const char *addr, int seen)
{
	struct client_answer a;

	memset(&a, 0, sizeof(a));
	a.status = CLIENT_ANSWER_OK;
	if (addr_parse(addr, -1, &a.addrs[0]) != 0)
		abort();
	a.port = addr_port(&a.addrs[0]);
	a.n_addrs = 1;
	if (seen >= 0) {
		a.has_seen = true;
		a.seen = (uint64_t)seen;
	}
	return a;
}

/* Choosing among registries. */
static void test_choose(void)
{
	struct client_answer r1 = make_answer("198.51.100.1:1000", 30);
	struct client_answer r2 = make_answer("198.51.100.2:1000", 5);
	struct client_answer r3 = make_answer("198.51.100.3:2000", -1);
	struct client_answer dead;
	const struct client_answer *list[3];
	struct client_choice ch;
	union sockaddr_any cur;
	char buf[ADDR_STRLEN];

	memset(&dead, 0, sizeof(dead));

	/* Smallest seen wins, whatever the order. */
	list[0] = &r1; list[1] = &r2;
	client_answer_choose(list, 2, NULL, &ch);
	CHECK(ch.index == 1 && !ch.nat_symmetric);
	CHECK(strcmp(addr_format(&ch.endpoint, buf, sizeof(buf)), "198.51.100.2:1000") == 0);
	list[0] = &r2; list[1] = &r1;
	client_answer_choose(list, 2, NULL, &ch);
	CHECK(ch.index == 0);

	/* An answer without seen ranks after those with one; different ports mark a symmetric NAT. */
	list[0] = &r3; list[1] = &r1;
	client_answer_choose(list, 2, NULL, &ch);
	CHECK(ch.index == 1 && ch.nat_symmetric);

	/* One registry down, one answering. */
	list[0] = &dead; list[1] = &r3;
	client_answer_choose(list, 2, NULL, &ch);
	CHECK(ch.index == 1 && !ch.nat_symmetric);
	list[0] = NULL; list[1] = &dead;
	client_answer_choose(list, 2, NULL, &ch);
	CHECK(ch.index == -1);

	/* Ties go to the lower index. */
	struct client_answer r4 = make_answer("198.51.100.4:1000", 30);
	list[0] = &r1; list[1] = &r4;
	client_answer_choose(list, 2, NULL, &ch);
	CHECK(ch.index == 0);

	/* The current endpoint is kept when the chosen answer lists it. */
	struct client_answer multi = make_answer("198.51.100.5:1000", 1);
	CHECK(addr_parse("[2001:db8::5]:1000", -1, &multi.addrs[1]) == 0);
	multi.n_addrs = 2;
	list[0] = &multi;
	cur = multi.addrs[1];
	client_answer_choose(list, 1, &cur, &ch);
	CHECK(ch.index == 0 && addr_equal(&ch.endpoint, &multi.addrs[1]));
	client_answer_choose(list, 1, NULL, &ch);
	CHECK(addr_equal(&ch.endpoint, &multi.addrs[0]));

	/*
	 * Symmetric NAT: two registries report different ports and their seen
	 * values take turns being smallest. Once an endpoint is set from one of
	 * them, it stays: no rewrite every cycle.
	 */
	struct client_answer sa = make_answer("203.0.113.20:40001", 1);
	struct client_answer sb = make_answer("203.0.113.20:40777", 2);
	list[0] = &sa; list[1] = &sb;
	client_answer_choose(list, 2, NULL, &ch);
	CHECK(ch.index == 0 && ch.nat_symmetric);
	cur = ch.endpoint;
	for (int cycle = 0; cycle < 6; cycle++) {
		sa.seen = (uint64_t)(cycle % 2 ? 1 : 3);
		sb.seen = (uint64_t)(cycle % 2 ? 3 : 1);
		client_answer_choose(list, 2, &cur, &ch);
		CHECK(addr_equal(&ch.endpoint, &cur) && ch.nat_symmetric);
	}
	/* But an endpoint no registry reports any more is replaced by the best answer. */
	CHECK(addr_parse("203.0.113.20:39999", -1, &cur) == 0);
	sa.seen = 9;
	sb.seen = 1;
	client_answer_choose(list, 2, &cur, &ch);
	CHECK(ch.index == 1 && addr_equal(&ch.endpoint, &sb.addrs[0]));

	/* Different ports are noticed even when one answer has no address. */
	struct client_answer noaddr = make_answer("198.51.100.6:3000", 2);
	noaddr.n_addrs = 0;
	list[0] = &noaddr; list[1] = &r1;
	client_answer_choose(list, 2, NULL, &ch);
	CHECK(ch.index == 1 && ch.nat_symmetric);
}

/* Which peers are resolved. */
static void test_classify(void)
{
	struct cidr allowed[2];
	union sockaddr_any regs[2];
	struct wg_peer peer;
	uint8_t exclude[1][WG_KEY_LEN];
	const int64_t now = 1700000000;

	memset(&peer, 0, sizeof(peer));
	memcpy(peer.public_key, key1, WG_KEY_LEN);
	CHECK(cidr_parse("10.0.0.2/32", false, &allowed[0]) == 0);
	CHECK(cidr_parse("fd00::2/128", false, &allowed[1]) == 0);
	peer.allowed_ips = allowed;
	peer.n_allowed_ips = 2;
	CHECK(addr_parse("10.0.0.254:53", -1, &regs[0]) == 0);
	CHECK(addr_parse("[fd00::fe]:53", -1, &regs[1]) == 0);
	memcpy(exclude[0], key2, WG_KEY_LEN);

	/* Never handshaked. */
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_CANDIDATE);
	/* Fresh: within the timeout. */
	peer.last_handshake_sec = now - 10;
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_FRESH);
	peer.last_handshake_sec = now - 135;
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_FRESH);
	/* Stale. */
	peer.last_handshake_sec = now - 136;
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_CANDIDATE);
	/* Clock stepped back: a handshake in the future is fresh. */
	peer.last_handshake_sec = now + 100;
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_FRESH);
	/* Excluded, even when stale. */
	peer.last_handshake_sec = 0;
	memcpy(peer.public_key, key2, WG_KEY_LEN);
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_EXCLUDED);
	memcpy(peer.public_key, key1, WG_KEY_LEN);
	/* The registry's own peer: its allowed IPs hold a registry address (IPv4 or IPv6). */
	CHECK(cidr_parse("10.0.0.0/24", false, &allowed[0]) == 0);
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_REGISTRY);
	CHECK(cidr_parse("10.0.1.0/24", false, &allowed[0]) == 0);
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_CANDIDATE);
	CHECK(cidr_parse("fd00::/64", false, &allowed[1]) == 0);
	CHECK(client_answer_classify(&peer, now, 135000, exclude[0], 1, regs, 2) == CLIENT_PEER_REGISTRY);
	CHECK(client_answer_classify(&peer, now, 135000, NULL, 0, regs, 1) == CLIENT_PEER_CANDIDATE);
	CHECK(strcmp(client_peer_class_name(CLIENT_PEER_REGISTRY), "registry") == 0);
}

/* An address parsed from text (the test's own inputs are always valid). */
static union sockaddr_any sa(const char *text)
{
	union sockaddr_any a;

	memset(&a, 0, sizeof(a));
	CHECK(addr_parse(text, -1, &a) == 0);
	return a;
}

/* A prefix parsed from text. */
static struct cidr pfx(const char *text)
{
	struct cidr c;

	CHECK(cidr_parse(text, true, &c) == 0);
	return c;
}

/* Endpoints that reach this host itself, or loop into the tunnel, are refused with a reason. */
static void test_endpoint_problem(void)
{
	struct wg_device *dev = wg_device_new();
	struct wg_peer *wp;
	struct cidr host[2] = { pfx("192.168.1.10/32"), pfx("2001:db8:1::10/128") };
	struct cidr nets[1] = { pfx("10.0.0.1/24") };
	struct client_local l = { .dev = dev, .addrs = host, .n_addrs = 2, .dev_nets = nets, .n_dev_nets = 1 };
	union sockaddr_any ep;
	struct client_answer ans;
	const char *why;
	struct cidr c;

	CHECK(dev != NULL);
	dev->listen_port = 51820;
	wp = wg_device_add_peer(dev);
	CHECK(wp != NULL);
	c = pfx("10.9.0.0/16");
	CHECK(wg_peer_add_allowed_ip(wp, &c) == 0);
	c = pfx("0.0.0.0/0");
	CHECK(wg_peer_add_allowed_ip(wp, &c) == 0);

	ep = sa("198.51.100.7:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) == NULL);
	ep = sa("[2001:db8:2::7]:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) == NULL);
	/* The generic checks come first. */
	ep = sa("0.0.0.0:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	ep = sa("[::]:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	ep = sa("127.0.0.1:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	ep = sa("224.0.0.251:5353");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	ep = sa("255.255.255.255:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	ep = sa("[fe80::1]:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	ep = sa("198.51.100.7:0");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	/* This host's own address with the device's listen port: itself. Another port is another program. */
	ep = sa("192.168.1.10:51820");
	CHECK(strcmp(client_answer_endpoint_problem(&ep, &l), "this device's own listen address") == 0);
	ep = sa("[2001:db8:1::10]:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	ep = sa("[::ffff:192.168.1.10]:51820");
	CHECK(client_answer_endpoint_problem(&ep, &l) != NULL);
	ep = sa("192.168.1.10:51821");
	CHECK(client_answer_endpoint_problem(&ep, &l) == NULL);
	/* The tunnel's own network and a peer's allowed IPs loop; a /0 (full tunnel) does not count. */
	ep = sa("10.0.0.7:51820");
	CHECK(strcmp(client_answer_endpoint_problem(&ep, &l), "inside the WireGuard interface's own network") == 0);
	ep = sa("10.9.3.4:4000");
	CHECK(strncmp(client_answer_endpoint_problem(&ep, &l), "inside a peer's allowed IPs", 27) == 0);
	ep = sa("10.10.3.4:4000");
	CHECK(client_answer_endpoint_problem(&ep, &l) == NULL);
	/* Without local facts only the generic checks apply. */
	ep = sa("10.9.3.4:4000");
	CHECK(client_answer_endpoint_problem(&ep, NULL) == NULL);

	/* Filtering keeps the usable addresses in order and names the first problem. */
	memset(&ans, 0, sizeof(ans));
	ans.status = CLIENT_ANSWER_OK;
	ans.addrs[0] = sa("127.0.0.1:51820");
	ans.addrs[1] = sa("198.51.100.7:51820");
	ans.addrs[2] = sa("10.9.0.1:51820");
	ans.addrs[3] = sa("[2001:db8:2::7]:51820");
	ans.n_addrs = 4;
	CHECK(client_answer_filter(&ans, &l, &why) == 2);
	CHECK(why && strcmp(why, "loopback address") == 0);
	CHECK(ans.n_addrs == 2);
	ep = sa("198.51.100.7:51820");
	CHECK(addr_equal(&ans.addrs[0], &ep));
	ep = sa("[2001:db8:2::7]:51820");
	CHECK(addr_equal(&ans.addrs[1], &ep));
	CHECK(client_answer_filter(&ans, &l, &why) == 0 && why == NULL && ans.n_addrs == 2);
	wg_device_free(dev);
}

int main(void)
{
	for (int i = 0; i < WG_KEY_LEN; i++) {
		key1[i] = (uint8_t)(i * 7 + 1);
		key2[i] = (uint8_t)(255 - i);
	}
	key_to_base32(key1, b32_1);
	key_to_base64(key1, b64_1);
	test_qname();
	test_layout_short_target();
	test_layout_service_target();
	test_case_variants();
	test_missing_additional();
	test_bad_answers();
	test_choose();
	test_classify();
	test_endpoint_problem();
	return CHECK_DONE();
}
