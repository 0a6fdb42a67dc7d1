/* SPDX-License-Identifier: MIT */
/* Mesh membership logic: listings, published allowed IPs (both TXT layouts), guard rails, absence. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "check.h"
#include "client-members.h"

static uint8_t keys[4][WG_KEY_LEN];
static char b32[4][KEY_B32_LEN + 1];
static char b64[4][KEY_B64_LEN + 1];

/* A response with the given rcode and no records. */
static ldns_pkt *pkt_new(ldns_pkt_rcode rcode)
{
	ldns_pkt *p = ldns_pkt_new();

	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	return p;
}

/* Add one record in presentation form to a section. */
static void pkt_add(ldns_pkt *p, ldns_pkt_section s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pkt_add(ldns_pkt *p, ldns_pkt_section s, const char *fmt, ...)
{
	char text[2048];
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

/* TXT rdata in wire form from strings (the argument list ends with NULL). */
static size_t rdata(uint8_t *out, ...)
{
	va_list ap;
	size_t len = 0;
	const char *s;

	va_start(ap, out);
	while ((s = va_arg(ap, const char *))) {
		size_t n = strlen(s);

		out[len++] = (uint8_t)n;
		memcpy(out + len, s, n);
		len += n;
	}
	va_end(ap);
	return len;
}

/* Parse a prefix for a test. */
static struct cidr C(const char *text)
{
	struct cidr c;

	if (cidr_parse(text, false, &c) < 0)
		abort();
	return c;
}

/* Lower-case copy (static buffer). */
static const char *lower(const char *s)
{
	static char buf[128];
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
	return buf;
}

/* The listing's name is the service name under the zone. */
static void test_listing_qname(void)
{
	char name[300];

	CHECK(client_members_listing_qname("example.com.", name, sizeof(name)) == 0 &&
	      strcmp(name, "_wireguard._udp.example.com.") == 0);
	CHECK(client_members_listing_qname("example.com", name, sizeof(name)) == 0 &&
	      strcmp(name, "_wireguard._udp.example.com.") == 0);
	CHECK(client_members_listing_qname("example.com.", name, 10) == -ENAMETOOLONG);
}

/* Every readable PTR of the service name gives a key: any letter case, padded or not, sorted and unique. */
static void test_listing_complete(void)
{
	struct client_listing l = { 0 };
	ldns_pkt *p = pkt_new(LDNS_RCODE_NOERROR);
	char unpadded[KEY_B32_UNPADDED_LEN + 1];

	snprintf(unpadded, sizeof(unpadded), "%.*s", KEY_B32_UNPADDED_LEN, b32[2]);
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR %s._wireguard._udp.example.com.", b32[1]);
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.EXAMPLE.com. 0 IN PTR %s._wireguard._udp.example.COM.", lower(b32[0]));
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR %s._wireguard._udp.example.com.", unpadded);
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR %s._wireguard._udp.example.com.", b32[1]);
	/* Records of other names or types are not part of the listing. */
	pkt_add(p, LDNS_SECTION_ANSWER, "other.example.com. 0 IN PTR %s._wireguard._udp.example.com.", b32[3]);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "_wireguard._udp.example.com. 0 IN PTR %s._wireguard._udp.example.com.", b32[3]);
	CHECK(client_members_listing_parse(p, "example.com.", &l) == 0);
	CHECK(l.status == CLIENT_LISTING_COMPLETE && client_members_listing_complete(&l));
	CHECK(l.n_keys == 3 && l.n_unreadable == 0);
	CHECK(client_members_listing_has(&l, keys[0]) && client_members_listing_has(&l, keys[1]) &&
	      client_members_listing_has(&l, keys[2]) && !client_members_listing_has(&l, keys[3]));
	for (size_t i = 1; i < l.n_keys; i++)
		CHECK(memcmp(l.keys[i - 1], l.keys[i], WG_KEY_LEN) < 0);
	client_members_listing_clear(&l);
	CHECK(l.n_keys == 0 && l.keys == NULL && l.status == CLIENT_LISTING_NONE);
	ldns_pkt_free(p);

	/* NOERROR without records: a complete, empty listing. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	CHECK(client_members_listing_parse(p, "example.com.", &l) == 0);
	CHECK(l.status == CLIENT_LISTING_COMPLETE && l.n_keys == 0);
	client_members_listing_clear(&l);
	ldns_pkt_free(p);
}

/* Truncated, unreadable or failed listings are never complete, but what they list still counts as listed. */
static void test_listing_incomplete(void)
{
	struct client_listing l = { 0 };
	ldns_pkt *p = pkt_new(LDNS_RCODE_NOERROR);

	ldns_pkt_set_tc(p, true);
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR %s._wireguard._udp.example.com.", b32[0]);
	CHECK(client_members_listing_parse(p, "example.com.", &l) == 0);
	CHECK(l.status == CLIENT_LISTING_TRUNCATED && !client_members_listing_complete(&l));
	CHECK(client_members_listing_has(&l, keys[0]));
	ldns_pkt_free(p);

	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR %s._wireguard._udp.example.com.", b32[0]);
	/* Not a key, wrong zone, wrong service, short label. */
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR %.52s._wireguard._udp.example.com.", "1111111111111111111111111111111111111111111111111111");
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR %s._wireguard._udp.example.org.", b32[1]);
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR %s.example.com.", b32[2]);
	pkt_add(p, LDNS_SECTION_ANSWER, "_wireguard._udp.example.com. 0 IN PTR abc._wireguard._udp.example.com.");
	CHECK(client_members_listing_parse(p, "example.com.", &l) == 0);
	CHECK(l.status == CLIENT_LISTING_PARTIAL && !client_members_listing_complete(&l));
	CHECK(l.n_keys == 1 && l.n_unreadable == 4 && client_members_listing_has(&l, keys[0]));
	ldns_pkt_free(p);

	p = pkt_new(LDNS_RCODE_SERVFAIL);
	CHECK(client_members_listing_parse(p, "example.com.", &l) == 0);
	CHECK(l.status == CLIENT_LISTING_RCODE && l.rcode == LDNS_RCODE_SERVFAIL && l.n_keys == 0);
	ldns_pkt_free(p);
	p = pkt_new(LDNS_RCODE_NXDOMAIN);
	CHECK(client_members_listing_parse(p, "example.com.", &l) == 0);
	CHECK(l.status == CLIENT_LISTING_RCODE && !client_members_listing_complete(&l));
	ldns_pkt_free(p);
	client_members_listing_clear(&l);
	CHECK(strcmp(client_members_listing_status_name(CLIENT_LISTING_TRUNCATED), "truncated") == 0);
}

/* Both TXT layouts: allowed= with allowed2=, allowed3=... in key order, and repeated allowed= strings. */
static void test_allowed_layouts(void)
{
	uint8_t rd[2048];
	struct cidr out[8];
	size_t len;

	len = rdata(rd, "txtvers=1", "pub=x", "allowed=10.0.0.1/32,2001:db8::1/128", "seen=3", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 2);
	CHECK(out[0].family == AF_INET && out[0].prefix == 32 && out[1].family == AF_INET6);
	/* Continuation keys, given out of order, read in number order; case ignored. */
	len = rdata(rd, "txtvers=1", "ALLOWED3=10.0.3.0/24", "allowed=10.0.1.0/24", "Allowed2=10.0.2.0/24", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 3);
	CHECK(out[0].addr[2] == 1 && out[1].addr[2] == 2 && out[2].addr[2] == 3);
	/* A gap ends the list: allowed4 without allowed3 is not read. */
	len = rdata(rd, "allowed=10.0.1.0/24", "allowed2=10.0.2.0/24", "allowed4=10.0.4.0/24", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 2);
	/* Only the first allowed2= counts (RFC 6763 6.4). */
	len = rdata(rd, "allowed=10.0.1.0/24", "allowed2=10.0.2.0/24", "allowed2=10.0.9.0/24", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 2 && out[1].addr[2] == 2);
	/* Registries before the allowedN= layout repeated allowed=: the list continues. */
	len = rdata(rd, "txtvers=1", "allowed=10.0.1.0/24,10.0.2.0/24", "allowed=10.0.3.0/24", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 3);
	/* Duplicates count once. */
	len = rdata(rd, "allowed=10.0.1.0/24,10.0.1.0/24", "allowed2=10.0.1.0/24", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 1);
	/* Empty list: no allowed IPs. */
	len = rdata(rd, "txtvers=1", "allowed=", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 0);
	/* Not "allowedN": allowed02, allowed1, allowedx, allowed257 are other keys. */
	len = rdata(rd, "allowed=10.0.1.0/24", "allowed02=10.0.2.0/24", "allowed1=10.0.3.0/24", "allowedx=1", "allowed257=10.0.4.0/24", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 1);
	/* Only the first txtvers= counts, in any case. */
	len = rdata(rd, "TXTVERS=1", "txtvers=2", "allowed=10.0.0.1/32", NULL);
	CHECK(client_members_allowed(rd, len, out, 8) == 1);
}

/* A list that goes on past the most keys read is refused, not read in part. */
static void test_allowed_many_keys(void)
{
	static uint8_t rd[65536];
	static struct cidr out[CLIENT_MEMBERS_ALLOWED_KEYS_MAX + 2];
	size_t len = 0;
	char s[64];

	for (unsigned int k = 1; k <= CLIENT_MEMBERS_ALLOWED_KEYS_MAX + 1; k++) {
		int n = k == 1 ? snprintf(s, sizeof(s), "allowed=10.%u.%u.0/24", k >> 8, k & 0xff)
			       : snprintf(s, sizeof(s), "allowed%u=10.%u.%u.0/24", k, k >> 8, k & 0xff);
		rd[len++] = (uint8_t)n;
		memcpy(rd + len, s, (size_t)n);
		len += (size_t)n;
		if (k == CLIENT_MEMBERS_ALLOWED_KEYS_MAX)
			CHECK(client_members_allowed(rd, len, out, CLIENT_MEMBERS_ALLOWED_KEYS_MAX + 2) ==
			      CLIENT_MEMBERS_ALLOWED_KEYS_MAX);
	}
	CHECK(client_members_allowed(rd, len, out, CLIENT_MEMBERS_ALLOWED_KEYS_MAX + 2) == -ENOBUFS);
}

/* Anything malformed is refused with its own error, never half-read. */
static void test_allowed_errors(void)
{
	uint8_t rd[2048];
	struct cidr out[2];
	size_t len;

	len = rdata(rd, "txtvers=1", "pub=x", NULL);
	CHECK(client_members_allowed(rd, len, out, 2) == -ENOENT);
	len = rdata(rd, "txtvers=2", "allowed=10.0.0.1/32", NULL);
	CHECK(client_members_allowed(rd, len, out, 2) == -EPROTONOSUPPORT);
	len = rdata(rd, "allowed=10.0.0.1/24", NULL);          /* host bits set */
	CHECK(client_members_allowed(rd, len, out, 2) == -EBADMSG);
	len = rdata(rd, "allowed=10.0.0.1/32,", NULL);         /* empty element */
	CHECK(client_members_allowed(rd, len, out, 2) == -EBADMSG);
	len = rdata(rd, "allowed=10.0.0.1/32 ,10.0.0.2/32", NULL);
	CHECK(client_members_allowed(rd, len, out, 2) == -EBADMSG);
	len = rdata(rd, "allowed", NULL);                      /* key without a value */
	CHECK(client_members_allowed(rd, len, out, 2) == -EBADMSG);
	len = rdata(rd, "txtvers", "allowed=10.0.0.1/32", NULL);   /* txtvers without a value */
	CHECK(client_members_allowed(rd, len, out, 2) == -EPROTONOSUPPORT);
	static const char *const bad[] = { "allowed=10.0.0.1/33", "allowed=,10.0.0.1/32", "allowed=10.0.0.1/32,,10.0.0.2/32",
					   "allowed=x", "allowed= 10.0.0.1/32" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = rdata(rd, bad[i], NULL);
		CHECK(client_members_allowed(rd, len, out, 2) == -EBADMSG);
	}
	rd[0] = 0;                                              /* one empty string */
	CHECK(client_members_allowed(rd, 1, out, 2) == -ENOENT);
	len = rdata(rd, "allowed=10.0.0.1/32,10.0.0.2/32,10.0.0.3/32", NULL);
	CHECK(client_members_allowed(rd, len, out, 2) == -ENOBUFS);
	len = rdata(rd, "allowed=10.0.0.1/32", NULL);
	CHECK(client_members_allowed(rd, len - 1, out, 2) == -EBADMSG);   /* string runs past the end */
	CHECK(client_members_allowed(rd, 0, out, 2) == -EBADMSG);
	rd[12] = '\0';                                          /* a NUL inside a prefix */
	CHECK(client_members_allowed(rd, len, out, 2) == -EBADMSG);
}

/* The TXT of the peer's service name in the SRV answer's additional section, checked against pub=. */
static void test_txt_in_response(void)
{
	struct cidr out[8];
	ldns_pkt *p = pkt_new(LDNS_RCODE_NOERROR);

	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN SRV 0 0 51820 %s.example.com.", b32[0], b32[0]);
	CHECK(client_members_txt(p, keys[0], "example.com.", out, 8) == -ENODATA);
	/* Another peer's TXT is not this one's. */
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s._wireguard._udp.example.com. 0 IN TXT \"txtvers=1\" \"pub=%s\" \"allowed=10.9.9.9/32\"", b32[1], b64[1]);
	CHECK(client_members_txt(p, keys[0], "example.com.", out, 8) == -ENODATA);
	pkt_add(p, LDNS_SECTION_ADDITIONAL, "%s._wireguard._udp.EXAMPLE.com. 0 IN TXT \"txtvers=1\" \"pub=%s\" \"allowed=10.0.0.3/32\" \"allowed2=fd00::3/128\" \"seen=5\"", lower(b32[0]), b64[0]);
	CHECK(client_members_txt(p, keys[0], "example.com.", out, 8) == 2);
	CHECK(out[0].family == AF_INET && out[1].family == AF_INET6);
	ldns_pkt_free(p);

	/* pub= naming another key: the record is not this peer's data. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN TXT \"txtvers=1\" \"pub=%s\" \"allowed=10.0.0.3/32\"", b32[0], b64[1]);
	CHECK(client_members_txt(p, keys[0], "example.com.", out, 8) == -EBADMSG);
	ldns_pkt_free(p);
	/* Two TXT records for the name: ambiguous. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN TXT \"allowed=10.0.0.3/32\"", b32[0]);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN TXT \"allowed=10.0.0.4/32\"", b32[0]);
	CHECK(client_members_txt(p, keys[0], "example.com.", out, 8) == -EBADMSG);
	ldns_pkt_free(p);
	/* Without pub= the name alone ties it to the key. */
	p = pkt_new(LDNS_RCODE_NOERROR);
	pkt_add(p, LDNS_SECTION_ANSWER, "%s._wireguard._udp.example.com. 0 IN TXT \"allowed=10.0.0.3/32\"", b32[0]);
	CHECK(client_members_txt(p, keys[0], "example.com.", out, 8) == 1);
	ldns_pkt_free(p);
}

/* Prefix helpers: overlap is containment either way; lists compare as sets. */
static void test_prefixes(void)
{
	struct cidr a = C("10.0.0.0/24"), b = C("10.0.0.7/32"), c = C("10.0.1.0/24"), d = C("0.0.0.0/0");
	struct cidr e = C("2001:db8::/32"), f = C("2001:db8:1::/48"), g = C("2001:db9::/32");
	struct cidr l1[3] = { C("10.0.0.1/32"), C("fd00::1/128"), C("10.0.0.1/32") };
	struct cidr l2[2] = { C("fd00::1/128"), C("10.0.0.1/32") };
	struct cidr l3[2] = { C("fd00::1/128"), C("10.0.0.2/32") };

	CHECK(client_members_overlap(&a, &b) && client_members_overlap(&b, &a));
	CHECK(!client_members_overlap(&a, &c));
	CHECK(client_members_overlap(&d, &c) && client_members_overlap(&a, &a));
	CHECK(client_members_overlap(&e, &f) && !client_members_overlap(&e, &g));
	CHECK(!client_members_overlap(&a, &e));
	{
		struct cidr x = C("10.0.0.0/25"), y = C("10.0.0.128/25");
		CHECK(!client_members_overlap(&x, &y) && client_members_overlap(&x, &a));
	}
	CHECK(client_members_allowed_same(l1, 3, l2, 2));
	CHECK(!client_members_allowed_same(l1, 3, l3, 2));
	CHECK(client_members_allowed_sort(l1, 3) == 2);
	CHECK(l1[0].family == AF_INET && l1[1].family == AF_INET6);
}

/* The guard rails, one by one, in their order. */
static void test_vet(void)
{
	struct cidr auto_allowed[2] = { C("10.0.0.0/16"), C("fd00::/64") };
	union sockaddr_any regs[1];
	struct cidr own[1] = { C("10.0.0.1/32") };
	struct cidr accepted[1] = { C("10.0.9.0/24") };
	struct wg_device *dev = wg_device_new();
	struct wg_peer *wp = wg_device_add_peer(dev);
	struct cidr hub = C("10.0.0.254/32"), other = C("10.0.5.0/24");
	struct client_members_policy pol = {
		.auto_allowed = auto_allowed, .n_auto_allowed = 2, .max_peers = 3,
		.exclude = keys[3], .n_exclude = 1, .registries = regs, .n_registries = 1,
	};
	struct client_members_view v = {
		.dev = dev, .own_addrs = own, .n_own_addrs = 1, .accepted = accepted, .n_accepted = 1, .n_added = 1,
	};
	struct cidr ok[2] = { C("10.0.0.3/32"), C("fd00::3/128") };
	struct cidr x;

	CHECK(addr_parse("10.0.0.254:53", 53, &regs[0]) == 0);
	memcpy(wp->public_key, keys[2], WG_KEY_LEN);
	CHECK(wg_peer_add_allowed_ip(wp, &hub) == 0 && wg_peer_add_allowed_ip(wp, &other) == 0);

	CHECK(client_members_vet(&pol, &v, keys[0], ok, 2) == CLIENT_MEMBERS_OK);
	CHECK(client_members_vet(&pol, &v, keys[3], ok, 2) == CLIENT_MEMBERS_EXCLUDED);
	CHECK(client_members_vet(&pol, &v, keys[0], ok, 0) == CLIENT_MEMBERS_NO_ALLOWED);
	x = C("10.1.0.3/32");                         /* outside 10.0.0.0/16 */
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_OUTSIDE);
	x = C("10.0.0.0/8");                          /* wider than auto-allowed-ips */
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_OUTSIDE);
	x = C("fd00:1::/64");
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_OUTSIDE);
	x = C("10.0.0.252/30");                       /* holds the registry's address */
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_REGISTRY);
	x = C("10.0.0.1/32");                         /* this device's own address */
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_OVERLAP_SELF);
	x = C("10.0.0.0/30");
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_OVERLAP_SELF);
	x = C("10.0.5.7/32");                         /* inside a peer's 10.0.5.0/24 */
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_OVERLAP_PEER);
	x = C("10.0.9.128/25");                       /* inside one accepted this cycle */
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_OVERLAP_PEER);
	v.n_added = 3;
	CHECK(client_members_vet(&pol, &v, keys[0], ok, 2) == CLIENT_MEMBERS_LIMIT);
	/* The limit is checked last: a peer refused for its addresses says so. */
	x = C("10.1.0.3/32");
	CHECK(client_members_vet(&pol, &v, keys[0], &x, 1) == CLIENT_MEMBERS_OUTSIDE);
	CHECK(strcmp(client_members_refusal_name(CLIENT_MEMBERS_OUTSIDE), "outside-auto-allowed-ips") == 0);
	for (int r = 0; r < CLIENT_MEMBERS_N_REFUSALS; r++)
		CHECK(strcmp(client_members_refusal_name(r), "?") != 0 && strcmp(client_members_refusal_text(r), "?") != 0);
	wg_device_free(dev);
}

/* Absence: started only by a complete cycle, ended by any listing, due after the period, never with never. */
static void test_absence(void)
{
	bool absent = false;
	uint64_t since = 0;

	/* An incomplete cycle (registry down) neither starts nor ends it. */
	CHECK(!client_members_absence_step(&absent, &since, false, false, 1000, 5000, false));
	CHECK(!absent);
	CHECK(!client_members_absence_step(&absent, &since, false, true, 2000, 5000, false));
	CHECK(absent && since == 2000);
	CHECK(!client_members_absence_step(&absent, &since, false, false, 8000, 5000, false));
	CHECK(!client_members_absence_step(&absent, &since, false, true, 6999, 5000, false));
	CHECK(client_members_absence_step(&absent, &since, false, true, 7000, 5000, false));
	/* Listed again (even by an incomplete listing): the count starts over. */
	CHECK(!client_members_absence_step(&absent, &since, true, false, 7100, 5000, false));
	CHECK(!absent);
	CHECK(!client_members_absence_step(&absent, &since, false, true, 8000, 5000, false));
	CHECK(!client_members_absence_step(&absent, &since, false, true, 12999, 5000, false));
	CHECK(client_members_absence_step(&absent, &since, false, true, 13000, 5000, false));
	/* Due, but a cycle with an unreachable registry never removes. */
	CHECK(!client_members_absence_step(&absent, &since, false, false, 20000, 5000, false));
	/* never: counted, never due. */
	absent = false;
	CHECK(!client_members_absence_step(&absent, &since, false, true, 1000, 0, true));
	CHECK(!client_members_absence_step(&absent, &since, false, true, 999999999, 0, true));
	CHECK(absent);
}

/* Run all cases. */
int main(void)
{
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < WG_KEY_LEN; j++)
			keys[i][j] = (uint8_t)(i * 37 + j * 11 + 1);
		key_to_base32(keys[i], b32[i]);
		key_to_base64(keys[i], b64[i]);
	}
	test_listing_qname();
	test_listing_complete();
	test_listing_incomplete();
	test_allowed_layouts();
	test_allowed_many_keys();
	test_allowed_errors();
	test_txt_in_response();
	test_prefixes();
	test_vet();
	test_absence();
	return CHECK_DONE();
}
