/* SPDX-License-Identifier: MIT */
/* UAPI parser and builder on canned replies: fields, chunking, errno=, malformed lines, secrets wiped. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wg-uapi.h"

/* RFC 7748 section 6.1: Alice's key pair. */
#define ALICE_PRIV "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ALICE_PUB "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define PEER1 "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define PEER2 "0101010101010101010101010101010101010101010101010101010101010101"
#define PSK "abababababababababababababababababababababababababababababababab"

static const char reply_full[] =
	"private_key=" ALICE_PRIV "\n"
	"listen_port=51820\n"
	"fwmark=3405643776\n"
	"public_key=" PEER1 "\n"
	"preshared_key=" PSK "\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.1:51820\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=123456789\n"
	"tx_bytes=18446744073709551615\n"
	"rx_bytes=42\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.0.0.1/32\n"
	"allowed_ip=2001:db8::/32\n"
	"some_future_key=whatever\n"
	"public_key=" PEER2 "\n"
	"endpoint=[2001:db8::2]:443\n"
	"persistent_keepalive_interval=0\n"
	"errno=0\n"
	"\n";

/* Decode a hex constant. */
static void hex_key(const char *hex, uint8_t key[WG_KEY_LEN])
{
	if (key_from_hex(hex, strlen(hex), key) < 0)
		abort();
}

/* Parse text split into chunks of chunk bytes (0 = all at once); returns the feed result. */
static int parse_chunked(const char *text, size_t chunk, struct wg_device *dev, size_t *consumed)
{
	struct wg_uapi_parser p;
	size_t len = strlen(text), off = 0, used;
	char *copy = strdup(text);
	int ret = WG_UAPI_MORE;

	wg_uapi_parser_init(&p, dev);
	*consumed = 0;
	while (off < len && ret == WG_UAPI_MORE) {
		size_t n = chunk && chunk < len - off ? chunk : len - off;
		ret = wg_uapi_parser_feed(&p, copy + off, n, &used);
		*consumed += used;
		off += n;
	}
	if (ret == WG_UAPI_MORE)
		ret = wg_uapi_parser_finish(&p) == 0 ? WG_UAPI_DONE : wg_uapi_parser_finish(&p);
	wg_uapi_parser_clear(&p);
	free(copy);
	return ret;
}

/* Check every field of the canned full reply. */
static void check_full_device(const struct wg_device *dev)
{
	uint8_t k[WG_KEY_LEN];
	char buf[CIDR_STRLEN], ep[ADDR_STRLEN];

	CHECK(dev->listen_port == 51820);
	CHECK(dev->fwmark == 0xcafe0000u);
	CHECK(dev->has_public_key);
	hex_key(ALICE_PUB, k);
	CHECK(memcmp(dev->public_key, k, WG_KEY_LEN) == 0);
	CHECK(dev->n_peers == 2);
	if (dev->n_peers != 2)
		return;
	const struct wg_peer *p = &dev->peers[0];
	hex_key(PEER1, k);
	CHECK(memcmp(p->public_key, k, WG_KEY_LEN) == 0);
	CHECK(strcmp(addr_format(&p->endpoint, ep, sizeof(ep)), "192.0.2.1:51820") == 0);
	CHECK(p->last_handshake_sec == 1700000000);
	CHECK(p->last_handshake_nsec == 123456789);
	CHECK(p->tx_bytes == UINT64_MAX);
	CHECK(p->rx_bytes == 42);
	CHECK(p->persistent_keepalive == 25);
	CHECK(p->n_allowed_ips == 2);
	if (p->n_allowed_ips == 2) {
		CHECK(strcmp(cidr_format(&p->allowed_ips[0], buf, sizeof(buf)), "10.0.0.1/32") == 0);
		CHECK(strcmp(cidr_format(&p->allowed_ips[1], buf, sizeof(buf)), "2001:db8::/32") == 0);
	}
	p = &dev->peers[1];
	hex_key(PEER2, k);
	CHECK(memcmp(p->public_key, k, WG_KEY_LEN) == 0);
	CHECK(strcmp(addr_format(&p->endpoint, ep, sizeof(ep)), "[2001:db8::2]:443") == 0);
	CHECK(p->persistent_keepalive == 0);
	CHECK(p->n_allowed_ips == 0);
	CHECK(p->last_handshake_sec == 0);
}

/* The full reply parses the same at every chunk size, and stops at the blank line. */
static void test_full_reply_chunked(void)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 64, 100, 511 };

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct wg_device *dev = wg_device_new();
		size_t used;
		int ret = parse_chunked(reply_full, chunks[i], dev, &used);

		CHECK(ret == WG_UAPI_DONE);
		CHECK(used == strlen(reply_full));
		check_full_device(dev);
		wg_device_free(dev);
	}
}

/* Bytes after the terminating blank line are not consumed. */
static void test_trailing_data(void)
{
	char text[] = "listen_port=1\nerrno=0\n\nget=1\n";
	struct wg_device *dev = wg_device_new();
	struct wg_uapi_parser p;
	size_t used;

	wg_uapi_parser_init(&p, dev);
	CHECK(wg_uapi_parser_feed(&p, text, strlen(text), &used) == WG_UAPI_DONE);
	CHECK(used == strlen("listen_port=1\nerrno=0\n\n"));
	CHECK(wg_uapi_parser_finish(&p) == 0);
	CHECK(dev->listen_port == 1);
	wg_device_free(dev);
}

/* Expect a reply text to fail with err (whole and byte by byte). */
static void expect_error(const char *text, int err, int line)
{
	for (size_t chunk = 0; chunk <= 1; chunk++) {
		struct wg_device *dev = wg_device_new();
		size_t used;
		int ret = parse_chunked(text, chunk, dev, &used);

		if (ret != err) {
			check_failures++;
			fprintf(stderr, "%s:%d: expected %d, got %d (chunk %zu) for:\n%s\n", __FILE__, line,
				err, ret, chunk, text);
		}
		check_count++;
		wg_device_free(dev);
	}
}

/* errno= lines turn into negative error values. */
static void test_errno_replies(void)
{
	expect_error("errno=22\n\n", -EINVAL, __LINE__);
	expect_error("errno=19\n\n", -ENODEV, __LINE__);
	expect_error("listen_port=5\nerrno=1\n\n", -EPERM, __LINE__);
	expect_error("errno=-1\n\n", -EBADMSG, __LINE__);
	expect_error("errno=abc\n\n", -EBADMSG, __LINE__);
	expect_error("errno=99999999999\n\n", -EBADMSG, __LINE__);
}

/* Malformed lines and replies are -EBADMSG. */
static void test_malformed(void)
{
	char longline[WG_UAPI_LINE_MAX + 32];

	expect_error("listen_port\nerrno=0\n\n", -EBADMSG, __LINE__);           /* no '=' */
	expect_error("=5\nerrno=0\n\n", -EBADMSG, __LINE__);                     /* empty key */
	expect_error("listen_port=65536\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("listen_port=-1\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("listen_port=\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("listen_port= 5\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("fwmark=4294967296\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("private_key=abc\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=" PEER1 "0\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=zz" PEER2 "\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=" PEER1 "\nendpoint=192.0.2.1\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=" PEER1 "\nendpoint=[2001:db8::1:1\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=" PEER1 "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=" PEER1 "\nallowed_ip=banana\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=" PEER1 "\ntx_bytes=18446744073709551616\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=" PEER1 "\npersistent_keepalive_interval=70000\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("public_key=" PEER1 "\nlast_handshake_time_sec=x\nerrno=0\n\n", -EBADMSG, __LINE__);
	expect_error("allowed_ip=10.0.0.1/32\nerrno=0\n\n", -EBADMSG, __LINE__);  /* before any peer */
	expect_error("endpoint=192.0.2.1:1\nerrno=0\n\n", -EBADMSG, __LINE__);    /* before any peer */
	expect_error("listen_port=1\n\n", -EBADMSG, __LINE__);                    /* blank line, no errno */
	expect_error("errno=0\nlisten_port=1\n\n", -EBADMSG, __LINE__);           /* errno not last */
	expect_error("listen_port=1\nerrno=0\n", -EBADMSG, __LINE__);             /* EOF, no blank line */
	expect_error("listen_port=1\nerrno=0", -EBADMSG, __LINE__);               /* EOF mid-line */
	expect_error("", -EBADMSG, __LINE__);                                     /* nothing at all */
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	memcpy(longline, "x=", 2);
	expect_error(longline, -EBADMSG, __LINE__);                               /* overlong line */
}

/* Unknown keys are ignored, in device and peer sections. */
static void test_unknown_keys(void)
{
	struct wg_device *dev = wg_device_new();
	size_t used;

	CHECK(parse_chunked("new_device_thing=1\nlisten_port=7\npublic_key=" PEER1 "\n"
			    "new_peer_thing=yes\nallowed_ip=10.1.0.0/16\nerrno=0\n\n", 0, dev, &used) ==
	      WG_UAPI_DONE);
	CHECK(dev->listen_port == 7);
	CHECK(dev->n_peers == 1 && dev->peers[0].n_allowed_ips == 1);
	wg_device_free(dev);
}

/* True when needle occurs anywhere in [hay, hay + len). */
static bool contains(const void *hay, size_t len, const void *needle, size_t nlen)
{
	return memmem(hay, len, needle, nlen) != NULL;
}

/* The private and preshared keys are wiped from the input and the parser and never reach the device. */
static void test_secrets_not_retained(void)
{
	uint8_t priv[WG_KEY_LEN], psk[WG_KEY_LEN];
	const char *priv_hex = ALICE_PRIV, *psk_hex = PSK;

	hex_key(ALICE_PRIV, priv);
	hex_key(PSK, psk);
	/* Split so the private key line is carried across feeds in the parser's own buffer. */
	for (size_t split = 1; split < 80; split += 13) {
		struct wg_device *dev = wg_device_new();
		struct wg_uapi_parser p;
		char *copy = strdup(reply_full);
		size_t len = strlen(copy), used1, used2;
		int ret;

		wg_uapi_parser_init(&p, dev);
		ret = wg_uapi_parser_feed(&p, copy, split, &used1);
		CHECK(ret == WG_UAPI_MORE);
		ret = wg_uapi_parser_feed(&p, copy + split, len - split, &used2);
		CHECK(ret == WG_UAPI_DONE);
		CHECK(!contains(p.line, sizeof(p.line), priv_hex, 8));
		CHECK(!contains(p.line, sizeof(p.line), priv_hex + 56, 8));
		/* The input text had its key values zeroed in place. */
		CHECK(!contains(copy, len, priv_hex + 16, 16));
		CHECK(!contains(copy, len, psk_hex + 16, 16));
		/* Neither key's bytes are anywhere in the device. */
		CHECK(!contains(dev, sizeof(*dev), priv, 16));
		for (size_t i = 0; i < dev->n_peers; i++)
			CHECK(!contains(&dev->peers[i], sizeof(dev->peers[i]), psk, 16));
		CHECK(dev->has_public_key);
		wg_uapi_parser_clear(&p);
		wg_device_free(dev);
		free(copy);
	}
}

/* The reply to a set: only errno is allowed. */
static void test_set_reply(void)
{
	struct wg_uapi_parser p;
	char ok[] = "errno=0\n\n", bad[] = "errno=2\n\n", junk[] = "listen_port=1\nerrno=0\n\n";
	size_t used;

	wg_uapi_parser_init(&p, NULL);
	CHECK(wg_uapi_parser_feed(&p, ok, strlen(ok), &used) == WG_UAPI_DONE);
	wg_uapi_parser_init(&p, NULL);
	CHECK(wg_uapi_parser_feed(&p, bad, strlen(bad), &used) == -ENOENT);
	wg_uapi_parser_init(&p, NULL);
	CHECK(wg_uapi_parser_feed(&p, junk, strlen(junk), &used) == -EBADMSG);
}

/* Endpoints with an IPv6 zone keep their scope id. */
static void test_endpoint_zone(void)
{
	struct wg_device *dev = wg_device_new();
	size_t used;

	CHECK(parse_chunked("public_key=" PEER1 "\nendpoint=[fe80::1%7]:51820\nerrno=0\n\n", 0, dev,
			    &used) == WG_UAPI_DONE);
	CHECK(dev->n_peers == 1 && dev->peers[0].endpoint.sa.sa_family == AF_INET6 &&
	      dev->peers[0].endpoint.in6.sin6_scope_id == 7 &&
	      ntohs(dev->peers[0].endpoint.in6.sin6_port) == 51820);
	wg_device_free(dev);
}

/* The set request carries update_only right after the key, and only the requested fields. */
static void test_build_set(void)
{
	struct wg_peer_update u = { .persistent_keepalive = -1 };
	struct strbuf sb = STRBUF_INIT;

	hex_key(PEER1, u.public_key);
	wg_uapi_build_set_peer(&sb, &u);
	CHECK(strcmp(strbuf_str(&sb), "set=1\npublic_key=" PEER1 "\nupdate_only=true\n\n") == 0);
	strbuf_reset(&sb);
	CHECK(addr_parse("192.0.2.9:4500", -1, &u.endpoint) == 0);
	u.persistent_keepalive = 25;
	wg_uapi_build_set_peer(&sb, &u);
	CHECK(strcmp(strbuf_str(&sb), "set=1\npublic_key=" PEER1 "\nupdate_only=true\n"
		     "endpoint=192.0.2.9:4500\npersistent_keepalive_interval=25\n\n") == 0);
	strbuf_reset(&sb);
	CHECK(addr_parse("[2001:db8::9]:51820", -1, &u.endpoint) == 0);
	u.persistent_keepalive = 0;
	wg_uapi_build_set_peer(&sb, &u);
	CHECK(strcmp(strbuf_str(&sb), "set=1\npublic_key=" PEER1 "\nupdate_only=true\n"
		     "endpoint=[2001:db8::9]:51820\npersistent_keepalive_interval=0\n\n") == 0);
	strbuf_reset(&sb);
	wg_uapi_build_get(&sb);
	CHECK(strcmp(strbuf_str(&sb), "get=1\n\n") == 0);
	strbuf_free(&sb);
}

/* A creation replaces the allowed IPs and lists them, without update_only; a removal is key and remove=true only. */
static void test_build_create_remove(void)
{
	struct cidr ips[2];
	struct wg_peer_update u = { .persistent_keepalive = 25, .change = WG_PEER_CREATE };
	struct strbuf sb = STRBUF_INIT;

	hex_key(PEER1, u.public_key);
	CHECK(cidr_parse("10.0.0.3/32", false, &ips[0]) == 0);
	CHECK(cidr_parse("2001:db8::/64", false, &ips[1]) == 0);
	u.allowed_ips = ips;
	u.n_allowed_ips = 2;
	CHECK(addr_parse("192.0.2.3:51820", -1, &u.endpoint) == 0);
	wg_uapi_build_set_peer(&sb, &u);
	CHECK(strcmp(strbuf_str(&sb), "set=1\npublic_key=" PEER1 "\nreplace_allowed_ips=true\n"
		     "endpoint=192.0.2.3:51820\npersistent_keepalive_interval=25\n"
		     "allowed_ip=10.0.0.3/32\nallowed_ip=2001:db8::/64\n\n") == 0);
	strbuf_reset(&sb);
	u.change = WG_PEER_REMOVE;
	wg_uapi_build_set_peer(&sb, &u);
	CHECK(strcmp(strbuf_str(&sb), "set=1\npublic_key=" PEER1 "\nremove=true\n\n") == 0);
	strbuf_reset(&sb);
	/* Allowed IPs are never sent with an update. */
	u.change = WG_PEER_UPDATE;
	u.persistent_keepalive = -1;
	memset(&u.endpoint, 0, sizeof(u.endpoint));
	wg_uapi_build_set_peer(&sb, &u);
	CHECK(strcmp(strbuf_str(&sb), "set=1\npublic_key=" PEER1 "\nupdate_only=true\n\n") == 0);
	strbuf_free(&sb);
}

/* X25519 against RFC 7748 and keys checked with `wg pubkey`. */
static void test_x25519(void)
{
	static const char *const vec[][2] = {
		{ ALICE_PRIV, ALICE_PUB },
		{ "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
		  "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f" },
		{ "30fd38be247cd314e241dff97c1aa7b455f5301860c08fee32f7db1839670157",
		  "f2e69711c19d443d8a1d4431d16573100efb1caf2bb16d3cdf794f619575e07b" },
		{ "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		  "847c0d2c375234f365e660955187a3735a0f7613d1609d3a6a4d8c53aeaa5a22" },
		{ "0100000000000000000000000000000000000000000000000000000000000000",
		  "2fe57da347cd62431528daac5fbb290730fff684afc4cfc2ed90995f58cb3b74" },
	};

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		uint8_t priv[WG_KEY_LEN], want[WG_KEY_LEN], got[WG_KEY_LEN];

		hex_key(vec[i][0], priv);
		hex_key(vec[i][1], want);
		wg_uapi_public_from_private(got, priv);
		CHECK(memcmp(got, want, WG_KEY_LEN) == 0);
	}
}

/* A big reply (many peers, many allowed IPs) parses completely. */
static void test_big_reply(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct wg_device *dev = wg_device_new();
	uint8_t key[WG_KEY_LEN] = { 0 };
	char hex[KEY_HEX_LEN + 1];
	size_t used;

	for (unsigned int i = 0; i < 2000; i++) {
		key[0] = (uint8_t)i;
		key[1] = (uint8_t)(i >> 8);
		key[2] = 1;
		key_to_hex(key, hex);
		strbuf_printf(&sb, "public_key=%s\nendpoint=198.51.100.%u:%u\n", hex, i % 250, 1000 + i);
		strbuf_printf(&sb, "allowed_ip=10.%u.%u.0/24\n", i >> 8, i & 255);
	}
	strbuf_puts(&sb, "public_key=");
	memset(key, 0xee, sizeof(key));
	key_to_hex(key, hex);
	strbuf_puts(&sb, hex);
	strbuf_puts(&sb, "\n");
	for (unsigned int i = 0; i < 10000; i++)
		strbuf_printf(&sb, "allowed_ip=10.200.%u.%u/32\n", i >> 8, i & 255);
	strbuf_puts(&sb, "errno=0\n\n");
	CHECK(parse_chunked(strbuf_str(&sb), 4096, dev, &used) == WG_UAPI_DONE);
	CHECK(dev->n_peers == 2001);
	if (dev->n_peers == 2001) {
		CHECK(dev->peers[1999].n_allowed_ips == 1 && addr_port(&dev->peers[1999].endpoint) == 2999);
		CHECK(dev->peers[2000].n_allowed_ips == 10000);
	}
	strbuf_free(&sb);
	wg_device_free(dev);
}

/* Run all cases. */
int main(void)
{
	test_full_reply_chunked();
	test_trailing_data();
	test_errno_replies();
	test_malformed();
	test_unknown_keys();
	test_secrets_not_retained();
	test_set_reply();
	test_endpoint_zone();
	test_build_set();
	test_build_create_remove();
	test_x25519();
	test_big_reply();
	return CHECK_DONE();
}
