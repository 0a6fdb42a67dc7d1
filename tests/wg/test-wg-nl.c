/* SPDX-License-Identifier: MIT */
/*
 * Netlink dump parser and builders on messages built here with libmnl:
 * split dumps, repeated peers, NLM_F_DUMP_INTR, errors in DONE/ERROR,
 * truncated attributes, wrong lengths, unknown attributes, secrets wiped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "check.h"
#include "wg-nl.h"

#define FAMILY 0x1d
#define SEQ 4242
#define BUF_LEN 65536

static uint8_t priv_key[WG_KEY_LEN], pub_key[WG_KEY_LEN], psk[WG_KEY_LEN];

/* A key filled with one byte value, made distinct by its index. */
static void make_key(uint8_t key[WG_KEY_LEN], unsigned int i)
{
	memset(key, 0x5a, WG_KEY_LEN);
	key[0] = (uint8_t)i;
	key[1] = (uint8_t)(i >> 8);
}

/* Start a dump message of the wireguard family. */
static struct nlmsghdr *msg_start(void *buf, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = FAMILY;
	nlh->nlmsg_flags = NLM_F_MULTI | flags;
	nlh->nlmsg_seq = SEQ;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = WG_CMD_GET_DEVICE;
	genl->version = WG_GENL_VERSION;
	return nlh;
}

/* Device attributes as the first message of a dump carries them. */
static void put_device_attrs(struct nlmsghdr *nlh)
{
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0x42);
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest0");
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, priv_key);
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, pub_key);
}

/* One allowed IP nest. */
static void put_allowed_ip(struct nlmsghdr *nlh, int family, const char *addr, uint8_t mask)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	uint8_t raw[16];

	inet_pton(family, addr, raw);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, (uint16_t)family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, family == AF_INET ? 4 : 16, raw);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, mask);
	mnl_attr_nest_end(nlh, n);
}

/* A full peer (first appearance) with allowed IPs 10.<i>.<first..first+count-1>.0/24. */
static void put_peer_full(struct nlmsghdr *nlh, unsigned int i, unsigned int first, unsigned int count)
{
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0), *ips;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(1000 + i)) };
	int64_t ts[2] = { 1700000000 + i, 999 };
	uint8_t key[WG_KEY_LEN];
	char text[32];

	make_key(key, i);
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
	mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, psk);
	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), ts);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 100 + i);
	mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 200 + i);
	mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
	if (count) {
		ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		for (unsigned int j = first; j < first + count; j++) {
			snprintf(text, sizeof(text), "10.%u.%u.0", i & 255, j & 255);
			put_allowed_ip(nlh, AF_INET, text, 24);
		}
		mnl_attr_nest_end(nlh, ips);
	}
	mnl_attr_nest_end(nlh, peer);
}

/* The continuation of a split peer: only its key and more allowed IPs. */
static void put_peer_cont(struct nlmsghdr *nlh, unsigned int i, unsigned int first, unsigned int count)
{
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0), *ips;
	uint8_t key[WG_KEY_LEN];
	char text[32];

	make_key(key, i);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
	ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	for (unsigned int j = first; j < first + count; j++) {
		snprintf(text, sizeof(text), "10.%u.%u.%u", i & 255, (j >> 8) & 255, j & 255);
		put_allowed_ip(nlh, AF_INET, text, 32);
	}
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
}

/* An NLMSG_DONE carrying status err. */
static struct nlmsghdr *msg_done(void *buf, int err)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	int *p;

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = SEQ;
	p = mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	*p = err;
	return nlh;
}

/* An NLMSG_ERROR carrying err. */
static struct nlmsghdr *msg_error(void *buf, uint32_t seq, int err)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = err;
	return nlh;
}

/* Feed one message to a fresh dump and return the result (the dump is cleared). */
static int feed_one(struct nlmsghdr *nlh)
{
	struct wg_nl_dump d;
	int ret;

	if (wg_nl_dump_init(&d, FAMILY, SEQ) < 0)
		abort();
	ret = wg_nl_dump_feed(&d, nlh);
	wg_nl_dump_clear(&d);
	return ret;
}

/* True when needle occurs in [hay, hay + len). */
static bool contains(const void *hay, size_t len, const void *needle, size_t nlen)
{
	return memmem(hay, len, needle, nlen) != NULL;
}

/* One message with everything, plus unknown attributes at every level; secrets are wiped. */
static void test_single_message(void)
{
	uint8_t *buf = calloc(1, BUF_LEN), *dbuf = calloc(1, BUF_LEN);
	struct nlmsghdr *nlh = msg_start(buf, 0);
	struct nlattr *peers, *peer, *ips, *ip;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct wg_nl_dump d;
	uint8_t key[WG_KEY_LEN];
	char text[CIDR_STRLEN];

	put_device_attrs(nlh);
	mnl_attr_put_u64(nlh, 200, 1);                /* unknown device attribute */
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_peer_full(nlh, 1, 0, 2);
	peer = mnl_attr_nest_start(nlh, 0);
	make_key(key, 2);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
	inet_pton(AF_INET6, "2001:db8::2", &sin6.sin6_addr);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
	mnl_attr_put_u8(nlh, 99, 7);                  /* unknown peer attribute, odd length */
	ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	ip = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET6);
	mnl_attr_put_u32(nlh, 77, 1);                 /* unknown allowed IP attribute */
	inet_pton(AF_INET6, "2001:db8:1::", key);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 16, key);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 48);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);

	CHECK(contains(buf, nlh->nlmsg_len, priv_key, WG_KEY_LEN));
	CHECK(wg_nl_dump_init(&d, FAMILY, SEQ) == 0);
	CHECK(wg_nl_dump_feed(&d, nlh) == WG_NL_MORE);
	/* The private and preshared keys were wiped from the message in place. */
	CHECK(!contains(buf, nlh->nlmsg_len, priv_key, 8));
	CHECK(!contains(buf, nlh->nlmsg_len, psk, 8));
	CHECK(wg_nl_dump_feed(&d, msg_done(dbuf, 0)) == WG_NL_DONE);

	struct wg_device *dev = d.dev;
	CHECK(strcmp(dev->name, "wgtest0") == 0);
	CHECK(dev->ifindex == 7);
	CHECK(dev->listen_port == 51820);
	CHECK(dev->fwmark == 0x42);
	CHECK(dev->has_public_key && memcmp(dev->public_key, pub_key, WG_KEY_LEN) == 0);
	CHECK(!contains(dev, sizeof(*dev), priv_key, 8));
	CHECK(dev->n_peers == 2);
	if (dev->n_peers == 2) {
		struct wg_peer *p = &dev->peers[0];
		char ep[ADDR_STRLEN];

		make_key(key, 1);
		CHECK(memcmp(p->public_key, key, WG_KEY_LEN) == 0);
		CHECK(!contains(p, sizeof(*p), psk, 8));
		CHECK(strcmp(addr_format(&p->endpoint, ep, sizeof(ep)), "192.0.2.1:1001") == 0);
		CHECK(p->last_handshake_sec == 1700000001 && p->last_handshake_nsec == 999);
		CHECK(p->persistent_keepalive == 25);
		CHECK(p->tx_bytes == 101 && p->rx_bytes == 201);
		CHECK(p->n_allowed_ips == 2);
		CHECK(strcmp(cidr_format(&p->allowed_ips[1], text, sizeof(text)), "10.1.1.0/24") == 0);
		p = &dev->peers[1];
		CHECK(strcmp(addr_format(&p->endpoint, ep, sizeof(ep)), "[2001:db8::2]:443") == 0);
		CHECK(p->n_allowed_ips == 1 &&
		      strcmp(cidr_format(&p->allowed_ips[0], text, sizeof(text)), "2001:db8:1::/48") == 0);
		CHECK(p->persistent_keepalive == 0 && p->last_handshake_sec == 0);
	}
	wg_nl_dump_clear(&d);
	free(buf);
	free(dbuf);
}

/*
 * A dump split over three messages: peer 2's allowed IPs continue in the
 * second message (key + allowed IPs only), and so do peer 3's in the third.
 */
static void test_split_dump(void)
{
	uint8_t *m1 = calloc(1, BUF_LEN), *m2 = calloc(1, BUF_LEN), *m3 = calloc(1, BUF_LEN);
	uint8_t *m4 = calloc(1, BUF_LEN);
	struct nlmsghdr *n1 = msg_start(m1, 0), *n2 = msg_start(m2, 0), *n3 = msg_start(m3, 0);
	struct nlattr *peers;
	struct wg_nl_dump d;
	uint8_t key[WG_KEY_LEN];
	char text[CIDR_STRLEN];

	put_device_attrs(n1);
	peers = mnl_attr_nest_start(n1, WGDEVICE_A_PEERS);
	put_peer_full(n1, 1, 0, 1);
	put_peer_full(n1, 2, 0, 3);
	mnl_attr_nest_end(n1, peers);
	peers = mnl_attr_nest_start(n2, WGDEVICE_A_PEERS);
	put_peer_cont(n2, 2, 3, 3);
	put_peer_full(n2, 3, 0, 2);
	mnl_attr_nest_end(n2, peers);
	peers = mnl_attr_nest_start(n3, WGDEVICE_A_PEERS);
	put_peer_cont(n3, 3, 2, 4);
	mnl_attr_nest_end(n3, peers);

	CHECK(wg_nl_dump_init(&d, FAMILY, SEQ) == 0);
	CHECK(wg_nl_dump_feed(&d, n1) == WG_NL_MORE);
	CHECK(wg_nl_dump_feed(&d, n2) == WG_NL_MORE);
	CHECK(wg_nl_dump_feed(&d, n3) == WG_NL_MORE);
	CHECK(wg_nl_dump_feed(&d, msg_done(m4, 0)) == WG_NL_DONE);
	CHECK(d.dev->n_peers == 3);
	CHECK(d.dev->listen_port == 51820);
	if (d.dev->n_peers == 3) {
		struct wg_peer *p2 = &d.dev->peers[1], *p3 = &d.dev->peers[2];

		make_key(key, 2);
		CHECK(memcmp(p2->public_key, key, WG_KEY_LEN) == 0);
		CHECK(p2->n_allowed_ips == 6);
		/* The continuation did not reset what the first part set. */
		CHECK(p2->tx_bytes == 102 && p2->persistent_keepalive == 25);
		CHECK(addr_port(&p2->endpoint) == 1002);
		if (p2->n_allowed_ips == 6) {
			CHECK(strcmp(cidr_format(&p2->allowed_ips[2], text, sizeof(text)), "10.2.2.0/24") == 0);
			CHECK(strcmp(cidr_format(&p2->allowed_ips[3], text, sizeof(text)), "10.2.0.3/32") == 0);
			CHECK(strcmp(cidr_format(&p2->allowed_ips[5], text, sizeof(text)), "10.2.0.5/32") == 0);
		}
		CHECK(p3->n_allowed_ips == 6);
		CHECK(d.dev->peers[0].n_allowed_ips == 1);
	}
	wg_nl_dump_clear(&d);
	free(m1);
	free(m2);
	free(m3);
	free(m4);
}

/* One peer with 10,000 allowed IPs over many messages, then 5,000 peers over many messages. */
static void test_big_split(void)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct wg_nl_dump d;
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	bool ok = true;

	CHECK(wg_nl_dump_init(&d, FAMILY, SEQ) == 0);
	nlh = msg_start(buf, 0);
	put_device_attrs(nlh);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_peer_full(nlh, 9, 0, 0);
	mnl_attr_nest_end(nlh, peers);
	ok = ok && wg_nl_dump_feed(&d, nlh) == WG_NL_MORE;
	for (unsigned int first = 0; first < 10000; first += 500) {
		nlh = msg_start(buf, 0);
		peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		put_peer_cont(nlh, 9, first, 500);
		mnl_attr_nest_end(nlh, peers);
		ok = ok && wg_nl_dump_feed(&d, nlh) == WG_NL_MORE;
	}
	CHECK(ok);
	CHECK(wg_nl_dump_feed(&d, msg_done(buf, 0)) == WG_NL_DONE);
	CHECK(d.dev->n_peers == 1 && d.dev->peers[0].n_allowed_ips == 10000);
	if (d.dev->n_peers == 1 && d.dev->peers[0].n_allowed_ips == 10000) {
		char text[CIDR_STRLEN];
		CHECK(strcmp(cidr_format(&d.dev->peers[0].allowed_ips[9999], text, sizeof(text)),
			     "10.9.39.15/32") == 0);
	}
	wg_nl_dump_clear(&d);

	CHECK(wg_nl_dump_init(&d, FAMILY, SEQ) == 0);
	ok = true;
	for (unsigned int i = 0; i < 5000; i += 100) {
		nlh = msg_start(buf, 0);
		if (i == 0)
			put_device_attrs(nlh);
		peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		for (unsigned int j = i; j < i + 100; j++)
			put_peer_full(nlh, j, 0, 1);
		mnl_attr_nest_end(nlh, peers);
		ok = ok && wg_nl_dump_feed(&d, nlh) == WG_NL_MORE;
	}
	CHECK(ok);
	CHECK(wg_nl_dump_feed(&d, msg_done(buf, 0)) == WG_NL_DONE);
	CHECK(d.dev->n_peers == 5000);
	if (d.dev->n_peers == 5000)
		CHECK(d.dev->peers[4999].tx_bytes == 5099 && d.dev->peers[4999].n_allowed_ips == 1);
	wg_nl_dump_clear(&d);
	free(buf);
}

/* NLM_F_DUMP_INTR on any message asks for a restart. */
static void test_dump_intr(void)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct wg_nl_dump d;
	struct nlmsghdr *nlh;
	struct nlattr *peers;

	CHECK(wg_nl_dump_init(&d, FAMILY, SEQ) == 0);
	nlh = msg_start(buf, 0);
	put_device_attrs(nlh);
	CHECK(wg_nl_dump_feed(&d, nlh) == WG_NL_MORE);
	nlh = msg_start(buf, NLM_F_DUMP_INTR);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_peer_full(nlh, 1, 0, 1);
	mnl_attr_nest_end(nlh, peers);
	CHECK(wg_nl_dump_feed(&d, nlh) == WG_NL_RESTART);
	wg_nl_dump_clear(&d);

	nlh = msg_done(buf, 0);
	nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	CHECK(feed_one(nlh) == WG_NL_RESTART);
	free(buf);
}

/* Errors in NLMSG_DONE and NLMSG_ERROR become error values; an ack alone is not the end. */
static void test_errors(void)
{
	uint8_t *buf = calloc(1, BUF_LEN), *b2 = calloc(1, BUF_LEN);
	struct wg_nl_dump d;

	CHECK(feed_one(msg_done(buf, -EMSGSIZE)) == -EMSGSIZE);
	CHECK(feed_one(msg_error(buf, SEQ, -ENODEV)) == -ENODEV);
	CHECK(feed_one(msg_error(buf, SEQ, -EPERM)) == -EPERM);
	CHECK(feed_one(msg_error(buf, SEQ, -EOPNOTSUPP)) == -EOPNOTSUPP);
	CHECK(feed_one(msg_error(buf, SEQ, 0)) == WG_NL_MORE);
	/* DONE with no device message at all is not a device. */
	CHECK(feed_one(msg_done(buf, 0)) == -EBADMSG);
	/* Error after a device message. */
	CHECK(wg_nl_dump_init(&d, FAMILY, SEQ) == 0);
	struct nlmsghdr *nlh = msg_start(buf, 0);
	put_device_attrs(nlh);
	CHECK(wg_nl_dump_feed(&d, nlh) == WG_NL_MORE);
	CHECK(wg_nl_dump_feed(&d, msg_done(b2, -ENODEV)) == -ENODEV);
	wg_nl_dump_clear(&d);
	/* A DONE without payload (old kernels) still ends a dump. */
	CHECK(wg_nl_dump_init(&d, FAMILY, SEQ) == 0);
	nlh = msg_start(buf, 0);
	put_device_attrs(nlh);
	CHECK(wg_nl_dump_feed(&d, nlh) == WG_NL_MORE);
	nlh = mnl_nlmsg_put_header(b2);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_seq = SEQ;
	CHECK(wg_nl_dump_feed(&d, nlh) == WG_NL_DONE);
	wg_nl_dump_clear(&d);
	/* Codes that are no errno (a hostile or broken peer): malformed, never negated past INT_MAX. */
	CHECK(feed_one(msg_error(buf, SEQ, INT_MIN)) == -EBADMSG);
	CHECK(feed_one(msg_error(buf, SEQ, -5000)) == -EBADMSG);
	CHECK(feed_one(msg_error(buf, SEQ, 5000)) == -EBADMSG);
	CHECK(feed_one(msg_done(buf, INT_MIN)) == -EBADMSG);
	CHECK(feed_one(msg_error(buf, SEQ, ENODEV)) == -ENODEV);
	CHECK(wg_nl_ack_feed(msg_error(buf, SEQ, INT_MIN), SEQ) == -EBADMSG);
	/* An NLMSG_ERROR too short to hold the code. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = SEQ;
	CHECK(feed_one(nlh) == -EBADMSG);
	free(buf);
	free(b2);
}

/* Messages of another sequence are skipped; another type or command is malformed. */
static void test_foreign_messages(void)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct nlmsghdr *nlh;

	nlh = msg_done(buf, -ENODEV);
	nlh->nlmsg_seq = SEQ + 1;
	CHECK(feed_one(nlh) == WG_NL_MORE);
	nlh = msg_start(buf, 0);
	nlh->nlmsg_type = FAMILY + 1;
	CHECK(feed_one(nlh) == -EBADMSG);
	nlh = msg_start(buf, 0);
	((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd = WG_CMD_SET_DEVICE;
	CHECK(feed_one(nlh) == -EBADMSG);
	/* Too short for the generic netlink header. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAMILY;
	nlh->nlmsg_seq = SEQ;
	CHECK(feed_one(nlh) == -EBADMSG);
	free(buf);
}

/* Attributes running past their message or nest are malformed. */
static void test_truncated(void)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct nlmsghdr *nlh;
	struct nlattr *peers, *peer, *a;

	/* The message ends inside its last attribute. */
	nlh = msg_start(buf, 0);
	put_device_attrs(nlh);
	nlh->nlmsg_len -= 8;
	CHECK(feed_one(nlh) == -EBADMSG);
	/* The message ends inside an attribute header. */
	nlh = msg_start(buf, 0);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 1);
	nlh->nlmsg_len += 2;
	CHECK(feed_one(nlh) == -EBADMSG);
	/* An attribute inside a peer nest claims more than the nest holds. */
	nlh = msg_start(buf, 0);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, pub_key);
	a = (struct nlattr *)mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_put_u32(nlh, 0, 0);   /* a sibling peer that the broken length would swallow */
	mnl_attr_nest_end(nlh, peers);
	a->nla_len = (uint16_t)(a->nla_len + 8);
	CHECK(feed_one(nlh) == -EBADMSG);
	/* An attribute length smaller than its own header. */
	nlh = msg_start(buf, 0);
	a = (struct nlattr *)mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 1);
	a->nla_len = 2;
	CHECK(feed_one(nlh) == -EBADMSG);
	/* A truncated allowed IP list inside a peer. */
	nlh = msg_start(buf, 0);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	put_peer_full(nlh, 1, 0, 2);
	mnl_attr_nest_end(nlh, peers);
	nlh->nlmsg_len -= 12;
	peers->nla_len = (uint16_t)(peers->nla_len - 12);
	CHECK(feed_one(nlh) == -EBADMSG);
	free(buf);
}

/* Build a one-peer message whose peer carries one attribute of type/len given; returns feed result. */
static int feed_peer_attr(uint16_t type, const void *data, size_t len)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct nlmsghdr *nlh = msg_start(buf, 0);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0);
	int ret;

	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, pub_key);
	mnl_attr_put(nlh, type, len, data);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	ret = feed_one(nlh);
	free(buf);
	return ret;
}

/* Build a message with one device attribute; returns feed result. */
static int feed_device_attr(uint16_t type, const void *data, size_t len)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct nlmsghdr *nlh = msg_start(buf, 0);
	int ret;

	mnl_attr_put(nlh, type, len, data);
	ret = feed_one(nlh);
	free(buf);
	return ret;
}

/* Build a peer with one allowed IP made of the given parts; returns feed result. */
static int feed_allowed_ip(int family, size_t addr_len, uint8_t mask, bool with_family)
{
	uint8_t *buf = calloc(1, BUF_LEN), addr[16] = { 10 };
	struct nlmsghdr *nlh = msg_start(buf, 0);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0), *ips, *ip;
	int ret;

	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, pub_key);
	ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	ip = mnl_attr_nest_start(nlh, 0);
	if (with_family)
		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, (uint16_t)family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, addr_len, addr);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, mask);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	ret = feed_one(nlh);
	free(buf);
	return ret;
}

/* Known attributes with the wrong length are malformed; unknown ones of any length are ignored. */
static void test_wrong_lengths(void)
{
	uint8_t zeros[64] = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	CHECK(feed_device_attr(WGDEVICE_A_LISTEN_PORT, zeros, 4) == -EBADMSG);
	CHECK(feed_device_attr(WGDEVICE_A_LISTEN_PORT, zeros, 2) == WG_NL_MORE);
	CHECK(feed_device_attr(WGDEVICE_A_FWMARK, zeros, 2) == -EBADMSG);
	CHECK(feed_device_attr(WGDEVICE_A_IFINDEX, zeros, 8) == -EBADMSG);
	CHECK(feed_device_attr(WGDEVICE_A_PUBLIC_KEY, zeros, 31) == -EBADMSG);
	CHECK(feed_device_attr(WGDEVICE_A_IFNAME, "wg0", 3) == -EBADMSG);   /* not terminated */
	CHECK(feed_device_attr(WGDEVICE_A_IFNAME, "0123456789abcdefgh", 19) == -EBADMSG);
	CHECK(feed_device_attr(WGDEVICE_A_IFNAME, "wg0", 4) == WG_NL_MORE);
	CHECK(feed_device_attr(250, zeros, 3) == WG_NL_MORE);
	CHECK(feed_device_attr(WGDEVICE_A_FLAGS, zeros, 1) == WG_NL_MORE);

	CHECK(feed_peer_attr(WGPEER_A_PUBLIC_KEY, zeros, 16) == -EBADMSG);  /* second key, wrong length */
	CHECK(feed_peer_attr(WGPEER_A_ENDPOINT, &sin, sizeof(sin)) == WG_NL_MORE);
	CHECK(feed_peer_attr(WGPEER_A_ENDPOINT, &sin, sizeof(sin) - 1) == -EBADMSG);
	CHECK(feed_peer_attr(WGPEER_A_ENDPOINT, &sin6, sizeof(sin6)) == WG_NL_MORE);
	CHECK(feed_peer_attr(WGPEER_A_ENDPOINT, &sin6, sizeof(sin)) == -EBADMSG);
	/* An AF_INET address with the length of an IPv6 one (read from a buffer that big). */
	uint8_t sin_long[sizeof(sin6)] = { 0 };
	memcpy(sin_long, &sin, sizeof(sin));
	CHECK(feed_peer_attr(WGPEER_A_ENDPOINT, sin_long, sizeof(sin_long)) == -EBADMSG);
	CHECK(feed_peer_attr(WGPEER_A_ENDPOINT, zeros, 1) == -EBADMSG);
	CHECK(feed_peer_attr(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, zeros, 4) == -EBADMSG);
	CHECK(feed_peer_attr(WGPEER_A_LAST_HANDSHAKE_TIME, zeros, 8) == -EBADMSG);
	CHECK(feed_peer_attr(WGPEER_A_RX_BYTES, zeros, 4) == -EBADMSG);
	CHECK(feed_peer_attr(WGPEER_A_TX_BYTES, zeros, 16) == -EBADMSG);
	CHECK(feed_peer_attr(WGPEER_A_PROTOCOL_VERSION, zeros, 3) == WG_NL_MORE);
	CHECK(feed_peer_attr(180, zeros, 5) == WG_NL_MORE);

	CHECK(feed_allowed_ip(AF_INET, 4, 32, true) == WG_NL_MORE);
	CHECK(feed_allowed_ip(AF_INET, 4, 33, true) == -EBADMSG);
	CHECK(feed_allowed_ip(AF_INET, 16, 24, true) == -EBADMSG);
	CHECK(feed_allowed_ip(AF_INET6, 4, 24, true) == -EBADMSG);
	CHECK(feed_allowed_ip(AF_INET6, 16, 128, true) == WG_NL_MORE);
	CHECK(feed_allowed_ip(AF_INET6, 16, 129, true) == -EBADMSG);
	CHECK(feed_allowed_ip(AF_UNIX, 4, 8, true) == -EBADMSG);
	CHECK(feed_allowed_ip(AF_INET, 4, 8, false) == -EBADMSG);

	/* A peer without a public key. */
	uint8_t *buf = calloc(1, BUF_LEN);
	struct nlmsghdr *nlh = msg_start(buf, 0);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	CHECK(feed_one(nlh) == -EBADMSG);
	free(buf);
}

/* Family lookup replies and set acknowledgements. */
static void test_family_and_ack(void)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;
	uint16_t id = 0;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_seq = 7;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = CTRL_CMD_NEWFAMILY;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x22);
	CHECK(wg_nl_family_feed(nlh, 7, &id) == WG_NL_DONE && id == 0x22);
	CHECK(wg_nl_family_feed(nlh, 8, &id) == WG_NL_MORE);
	CHECK(wg_nl_family_feed(msg_error(buf, 7, -ENOENT), 7, &id) == -EPROTONOSUPPORT);
	CHECK(wg_nl_family_feed(msg_error(buf, 7, -EPERM), 7, &id) == -EPERM);
	CHECK(wg_nl_ack_feed(msg_error(buf, 9, 0), 9) == WG_NL_DONE);
	CHECK(wg_nl_ack_feed(msg_error(buf, 9, -ENODEV), 9) == -ENODEV);
	CHECK(wg_nl_ack_feed(msg_error(buf, 9, -ENODEV), 10) == WG_NL_MORE);
	free(buf);
}

/* The request builders put exactly what the kernel expects. */
static void test_builders(void)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct wg_peer_update u = { .persistent_keepalive = 25 };
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;
	struct nlattr *a, *peers = NULL, *peer = NULL, *b;
	int n_peer_attrs = 0;
	bool have_flags = false, have_ep = false, have_ka = false, have_key = false;

	CHECK(wg_nl_build_get(buf, 16, FAMILY, 1, "wg0") == NULL);
	nlh = wg_nl_build_get(buf, BUF_LEN, FAMILY, 5, "wg0");
	CHECK(nlh && nlh->nlmsg_type == FAMILY && nlh->nlmsg_seq == 5);
	CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_DUMP));
	genl = mnl_nlmsg_get_payload(nlh);
	CHECK(genl->cmd == WG_CMD_GET_DEVICE && genl->version == WG_GENL_VERSION);
	a = mnl_nlmsg_get_payload_offset(nlh, sizeof(*genl));
	CHECK(mnl_attr_get_type(a) == WGDEVICE_A_IFNAME && strcmp(mnl_attr_get_str(a), "wg0") == 0);

	nlh = wg_nl_build_family_req(buf, BUF_LEN, 6);
	CHECK(nlh->nlmsg_type == GENL_ID_CTRL);
	a = mnl_nlmsg_get_payload_offset(nlh, sizeof(*genl));
	CHECK(mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_NAME && strcmp(mnl_attr_get_str(a), "wireguard") == 0);

	make_key(u.public_key, 3);
	CHECK(addr_parse("[2001:db8::3]:51820", -1, &u.endpoint) == 0);
	nlh = wg_nl_build_set_peer(buf, BUF_LEN, FAMILY, 8, "wg1", &u);
	CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK));
	genl = mnl_nlmsg_get_payload(nlh);
	CHECK(genl->cmd == WG_CMD_SET_DEVICE);
	mnl_attr_for_each(a, nlh, sizeof(*genl))
		if (mnl_attr_get_type(a) == WGDEVICE_A_PEERS)
			peers = a;
	CHECK(peers != NULL);
	if (peers) {
		mnl_attr_for_each_nested(b, peers)
			peer = b;
	}
	CHECK(peer != NULL);
	if (peer) {
		mnl_attr_for_each_nested(b, peer) {
			n_peer_attrs++;
			switch (mnl_attr_get_type(b)) {
			case WGPEER_A_PUBLIC_KEY:
				have_key = memcmp(mnl_attr_get_payload(b), u.public_key, WG_KEY_LEN) == 0;
				break;
			case WGPEER_A_FLAGS:
				have_flags = mnl_attr_get_u32(b) == WGPEER_F_UPDATE_ONLY;
				break;
			case WGPEER_A_ENDPOINT:
				have_ep = mnl_attr_get_payload_len(b) == sizeof(struct sockaddr_in6) &&
					  memcmp(mnl_attr_get_payload(b), &u.endpoint.in6, sizeof(u.endpoint.in6)) == 0;
				break;
			case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
				have_ka = mnl_attr_get_u16(b) == 25;
				break;
			}
		}
	}
	CHECK(have_key && have_flags && have_ep && have_ka && n_peer_attrs == 4);

	/* Nothing but key and flags when neither endpoint nor keepalive changes. */
	memset(&u.endpoint, 0, sizeof(u.endpoint));
	u.persistent_keepalive = -1;
	nlh = wg_nl_build_set_peer(buf, BUF_LEN, FAMILY, 9, "wg1", &u);
	n_peer_attrs = 0;
	peer = NULL;
	mnl_attr_for_each(a, nlh, sizeof(*genl))
		if (mnl_attr_get_type(a) == WGDEVICE_A_PEERS)
			mnl_attr_for_each_nested(b, a)
				peer = b;
	if (peer)
		mnl_attr_for_each_nested(b, peer)
			n_peer_attrs++;
	CHECK(n_peer_attrs == 2);
	free(buf);
}

/* Walk the single peer nest of a set request; returns it or NULL. */
static struct nlattr *set_request_peer(struct nlmsghdr *nlh)
{
	struct nlattr *a, *b, *peer = NULL;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == WGDEVICE_A_PEERS)
			mnl_attr_for_each_nested(b, a)
				peer = b;
	return peer;
}

/* A creation carries REPLACE_ALLOWEDIPS (never UPDATE_ONLY) and every allowed IP; a removal only key and REMOVE_ME. */
static void test_builders_create_remove(void)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct cidr ips[3];
	struct wg_peer_update u = { .persistent_keepalive = 25, .change = WG_PEER_CREATE };
	struct nlmsghdr *nlh;
	struct nlattr *peer, *b, *c, *d;
	uint32_t flags = 0;
	int n_ips = 0, n_attrs = 0, ip_ok = 0;
	bool have_ep = false, have_ka = false;

	make_key(u.public_key, 4);
	CHECK(cidr_parse("10.0.0.3/32", false, &ips[0]) == 0);
	CHECK(cidr_parse("2001:db8::3/128", false, &ips[1]) == 0);
	CHECK(cidr_parse("10.3.0.0/16", false, &ips[2]) == 0);
	u.allowed_ips = ips;
	u.n_allowed_ips = 3;
	CHECK(addr_parse("192.0.2.3:51820", -1, &u.endpoint) == 0);
	nlh = wg_nl_build_set_peer(buf, BUF_LEN, FAMILY, 11, "wg1", &u);
	CHECK(nlh != NULL);
	peer = nlh ? set_request_peer(nlh) : NULL;
	CHECK(peer != NULL);
	if (peer) {
		mnl_attr_for_each_nested(b, peer) {
			n_attrs++;
			switch (mnl_attr_get_type(b)) {
			case WGPEER_A_FLAGS:
				flags = mnl_attr_get_u32(b);
				break;
			case WGPEER_A_ENDPOINT:
				have_ep = mnl_attr_get_payload_len(b) == sizeof(struct sockaddr_in);
				break;
			case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
				have_ka = mnl_attr_get_u16(b) == 25;
				break;
			case WGPEER_A_ALLOWEDIPS:
				mnl_attr_for_each_nested(c, b) {
					uint16_t fam = 0;
					uint8_t mask = 255;
					const void *addr = NULL;
					size_t alen = 0;

					mnl_attr_for_each_nested(d, c) {
						if (mnl_attr_get_type(d) == WGALLOWEDIP_A_FAMILY)
							fam = mnl_attr_get_u16(d);
						else if (mnl_attr_get_type(d) == WGALLOWEDIP_A_IPADDR) {
							addr = mnl_attr_get_payload(d);
							alen = mnl_attr_get_payload_len(d);
						} else if (mnl_attr_get_type(d) == WGALLOWEDIP_A_CIDR_MASK)
							mask = mnl_attr_get_u8(d);
					}
					if (n_ips < 3 && fam == ips[n_ips].family && mask == ips[n_ips].prefix && addr &&
					    alen == (fam == AF_INET ? 4u : 16u) && memcmp(addr, ips[n_ips].addr, alen) == 0)
						ip_ok++;
					n_ips++;
				}
				break;
			}
		}
	}
	CHECK(flags == WGPEER_F_REPLACE_ALLOWEDIPS);
	CHECK(have_ep && have_ka && n_attrs == 5);
	CHECK(n_ips == 3 && ip_ok == 3);

	/* The allowed IPs need room: a buffer of the fixed size only takes the fixed part. */
	CHECK(wg_nl_build_set_peer(buf, WG_NL_REQ_BUF_LEN, FAMILY, 12, "wg1", &u) == NULL);
	u.n_allowed_ips = 0;
	CHECK(wg_nl_build_set_peer(buf, WG_NL_REQ_BUF_LEN, FAMILY, 12, "wg1", &u) != NULL);
	u.n_allowed_ips = 3;

	/* A removal: key and flags, nothing else even when other fields are set. */
	u.change = WG_PEER_REMOVE;
	nlh = wg_nl_build_set_peer(buf, BUF_LEN, FAMILY, 13, "wg1", &u);
	peer = nlh ? set_request_peer(nlh) : NULL;
	n_attrs = 0;
	flags = 0;
	if (peer)
		mnl_attr_for_each_nested(b, peer) {
			n_attrs++;
			if (mnl_attr_get_type(b) == WGPEER_A_FLAGS)
				flags = mnl_attr_get_u32(b);
		}
	CHECK(flags == WGPEER_F_REMOVE_ME && n_attrs == 2);
	free(buf);
}

/* Datagram walking: whole messages only, even with nlmsg_len >= 2^31. */
static void test_msg_next(void)
{
	uint8_t *buf = calloc(1, BUF_LEN);
	struct nlmsghdr *nlh, *got;
	size_t off = 0, len;
	int n = 0, ret;

	msg_done(buf, 0);
	nlh = msg_done(buf + NLMSG_ALIGN(((struct nlmsghdr *)buf)->nlmsg_len), -ENODEV);
	len = (size_t)((uint8_t *)nlh - buf) + nlh->nlmsg_len;
	while ((ret = wg_nl_msg_next(buf, len, &off, &got)) == 1)
		n++;
	CHECK(ret == 0 && n == 2);
	off = 0;
	CHECK(wg_nl_msg_next(buf, len - 1, &off, &got) == 1);
	CHECK(wg_nl_msg_next(buf, len - 1, &off, &got) == -EBADMSG);
	nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_len = 0xfe000014u;
	off = 0;
	CHECK(wg_nl_msg_next(buf, len, &off, &got) == -EBADMSG);
	nlh->nlmsg_len = 8;
	off = 0;
	CHECK(wg_nl_msg_next(buf, len, &off, &got) == -EBADMSG);
	off = 0;
	CHECK(wg_nl_msg_next(buf, 10, &off, &got) == -EBADMSG);
	free(buf);
}

/* Run all cases. */
int main(void)
{
	memset(priv_key, 0xa1, sizeof(priv_key));
	priv_key[5] = 0x17;
	memset(pub_key, 0xb2, sizeof(pub_key));
	memset(psk, 0xc3, sizeof(psk));
	test_single_message();
	test_split_dump();
	test_big_split();
	test_dump_intr();
	test_errors();
	test_foreign_messages();
	test_truncated();
	test_wrong_lengths();
	test_family_and_ack();
	test_builders();
	test_builders_create_remove();
	test_msg_next();
	return CHECK_DONE();
}
