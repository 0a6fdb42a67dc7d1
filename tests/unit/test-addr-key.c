/* SPDX-License-Identifier: MIT */
/* Addresses, prefixes and key encodings. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "check.h"
#include "key.h"

/* Address parsing and formatting round trips. */
static void test_addr(void)
{
	union sockaddr_any a, b;
	char buf[ADDR_STRLEN];

	CHECK(addr_parse("192.0.2.1:51820", -1, &a) == 0);
	CHECK(a.sa.sa_family == AF_INET && addr_port(&a) == 51820);
	CHECK(strcmp(addr_format(&a, buf, sizeof(buf)), "192.0.2.1:51820") == 0);
	CHECK(addr_parse("[2001:db8::1]:53", -1, &a) == 0);
	CHECK(a.sa.sa_family == AF_INET6 && addr_port(&a) == 53);
	CHECK(strcmp(addr_format(&a, buf, sizeof(buf)), "[2001:db8::1]:53") == 0);
	CHECK(addr_parse("2001:db8::1", 53, &a) == 0 && addr_port(&a) == 53);
	CHECK(addr_parse("192.0.2.1", 53, &a) == 0 && addr_port(&a) == 53);
	CHECK(addr_parse("192.0.2.1", -1, &a) == -EINVAL);
	CHECK(addr_parse("192.0.2.1:", -1, &a) == -EINVAL);
	CHECK(addr_parse("192.0.2.1:65536", -1, &a) == -EINVAL);
	CHECK(addr_parse("192.0.2.1:+5", -1, &a) == -EINVAL);
	CHECK(addr_parse("[2001:db8::1", -1, &a) == -EINVAL);
	CHECK(addr_parse("[2001:db8::1]x", -1, &a) == -EINVAL);
	CHECK(addr_parse("host.example:53", -1, &a) == -EINVAL);
	CHECK(addr_parse("", 53, &a) == -EINVAL);
	CHECK(addr_parse("[::ffff:192.0.2.7]:9", -1, &a) == 0);
	addr_unmap_v4(&a);
	CHECK(a.sa.sa_family == AF_INET && addr_port(&a) == 9);
	CHECK(addr_parse("192.0.2.7:9", -1, &b) == 0 && addr_equal(&a, &b));
	memset(&a, 0, sizeof(a));
	CHECK(strcmp(addr_format(&a, buf, sizeof(buf)), "none") == 0);
}

/* Same IP (ports ignored) and same endpoint, with v4-mapped IPv6 as its IPv4 address. */
static void test_addr_same(void)
{
	union sockaddr_any a, b, none;

	memset(&none, 0, sizeof(none));
	CHECK(addr_parse("[::ffff:192.0.2.7]:9", -1, &a) == 0 && addr_parse("192.0.2.7:10", -1, &b) == 0);
	CHECK(addr_same_ip(&a, &b) && addr_same_ip(&b, &a) && !addr_same_endpoint(&a, &b));
	CHECK(addr_parse("192.0.2.7:9", -1, &b) == 0 && addr_same_endpoint(&a, &b) && addr_same_endpoint(&b, &a));
	CHECK(addr_parse("192.0.2.8:9", -1, &b) == 0 && !addr_same_ip(&a, &b) && !addr_same_endpoint(&a, &b));
	CHECK(addr_parse("[2001:db8::7]:9", -1, &a) == 0 && addr_parse("[2001:db8::7]:1", -1, &b) == 0);
	CHECK(addr_same_ip(&a, &b) && !addr_same_endpoint(&a, &b));
	CHECK(addr_parse("[2001:db8::8]:9", -1, &b) == 0 && !addr_same_ip(&a, &b));
	/* Another family, or no address at all, is never the same IP. */
	CHECK(addr_parse("192.0.2.7:9", -1, &b) == 0 && !addr_same_ip(&a, &b) && !addr_same_ip(&none, &none));
}

/* Parse text and return its endpoint check. */
static enum addr_ep ep(const char *text)
{
	union sockaddr_any a;

	memset(&a, 0, sizeof(a));
	CHECK(addr_parse(text, -1, &a) == 0);
	return addr_endpoint_check(&a);
}

/* Endpoints another host cannot send to are named, usable ones pass. */
static void test_endpoint_check(void)
{
	union sockaddr_any none;

	CHECK(ep("192.0.2.1:51820") == ADDR_EP_OK);
	CHECK(ep("[2001:db8::1]:51820") == ADDR_EP_OK);
	CHECK(ep("10.1.2.3:1") == ADDR_EP_OK);
	CHECK(ep("169.254.1.1:51820") == ADDR_EP_OK);
	CHECK(ep("[fc00::1]:51820") == ADDR_EP_OK);
	CHECK(ep("192.0.2.1:0") == ADDR_EP_PORT_ZERO);
	CHECK(ep("[2001:db8::1]:0") == ADDR_EP_PORT_ZERO);
	CHECK(ep("0.0.0.0:51820") == ADDR_EP_UNSPECIFIED);
	CHECK(ep("0.1.2.3:51820") == ADDR_EP_UNSPECIFIED);
	CHECK(ep("[::]:51820") == ADDR_EP_UNSPECIFIED);
	CHECK(ep("127.0.0.1:51820") == ADDR_EP_LOOPBACK);
	CHECK(ep("127.255.0.9:51820") == ADDR_EP_LOOPBACK);
	CHECK(ep("[::1]:51820") == ADDR_EP_LOOPBACK);
	CHECK(ep("[::ffff:127.0.0.1]:51820") == ADDR_EP_LOOPBACK);
	CHECK(ep("[::ffff:192.0.2.1]:51820") == ADDR_EP_OK);
	CHECK(ep("224.0.0.1:51820") == ADDR_EP_MULTICAST);
	CHECK(ep("239.255.255.250:1900") == ADDR_EP_MULTICAST);
	CHECK(ep("[ff02::1]:51820") == ADDR_EP_MULTICAST);
	CHECK(ep("255.255.255.255:51820") == ADDR_EP_BROADCAST);
	CHECK(ep("240.0.0.1:51820") == ADDR_EP_BROADCAST);
	CHECK(ep("[fe80::1]:51820") == ADDR_EP_LINK_LOCAL);
	CHECK(ep("[febf::1]:51820") == ADDR_EP_LINK_LOCAL);
	memset(&none, 0, sizeof(none));
	CHECK(addr_endpoint_check(&none) == ADDR_EP_NONE);
	CHECK(strcmp(addr_endpoint_reason(ADDR_EP_LOOPBACK), "loopback address") == 0);
}

/* Prefix parsing and containment. */
static void test_cidr(void)
{
	struct cidr c;
	union sockaddr_any a;
	char buf[CIDR_STRLEN];

	CHECK(cidr_parse("10.0.0.0/24", false, &c) == 0 && c.prefix == 24);
	CHECK(cidr_parse("10.0.0.1/24", false, &c) == -EINVAL);
	CHECK(cidr_parse("10.0.0.1/24", true, &c) == 0);
	CHECK(strcmp(cidr_format(&c, buf, sizeof(buf)), "10.0.0.0/24") == 0);
	CHECK(addr_parse("10.0.0.77", 0, &a) == 0 && cidr_contains(&c, &a));
	CHECK(addr_parse("10.0.1.77", 0, &a) == 0 && !cidr_contains(&c, &a));
	CHECK(addr_parse("::ffff:10.0.0.9", 0, &a) == 0 && cidr_contains(&c, &a));
	CHECK(cidr_parse("10.0.0.1", false, &c) == 0 && c.prefix == 32);
	CHECK(cidr_parse("10.0.0.0/33", false, &c) == -EINVAL);
	CHECK(cidr_parse("10.0.0.0/", false, &c) == -EINVAL);
	CHECK(cidr_parse("2001:db8::/32", false, &c) == 0 && c.prefix == 32);
	CHECK(addr_parse("2001:db8:1::5", 0, &a) == 0 && cidr_contains(&c, &a));
	CHECK(addr_parse("2001:db9::5", 0, &a) == 0 && !cidr_contains(&c, &a));
	CHECK(cidr_parse("2001:db8::/129", false, &c) == -EINVAL);
	CHECK(cidr_parse("0.0.0.0/0", false, &c) == 0);
	CHECK(addr_parse("203.0.113.9", 0, &a) == 0 && cidr_contains(&c, &a));
	CHECK(cidr_parse("10.0.0.0/25", false, &c) == 0);
	CHECK(addr_parse("10.0.0.128", 0, &a) == 0 && !cidr_contains(&c, &a));
}

/* Base64, base32 and hex of keys. */
static void test_keys(void)
{
	uint8_t k[WG_KEY_LEN], d[WG_KEY_LEN];
	char b64[KEY_B64_LEN + 1], b32[KEY_B32_LEN + 1], hex[KEY_HEX_LEN + 1], lower[KEY_B32_LEN + 1];

	for (int i = 0; i < WG_KEY_LEN; i++)
		k[i] = (uint8_t)(i * 37 + 11);
	key_to_base64(k, b64);
	CHECK(strlen(b64) == 44 && b64[43] == '=');
	CHECK(key_from_base64(b64, d) == 0 && memcmp(k, d, WG_KEY_LEN) == 0);
	key_to_base32(k, b32);
	CHECK(strlen(b32) == 56 && strcmp(b32 + 52, "====") == 0);
	for (int i = 0; i < 56; i++)
		CHECK(!(b32[i] >= 'a' && b32[i] <= 'z'));
	CHECK(key_from_base32(b32, 56, d) == 0 && memcmp(k, d, WG_KEY_LEN) == 0);
	/* Unpadded, as it appears inside a DNS name: followed by the next label, not by "====". */
	char unpadded[80];
	memcpy(unpadded, b32, 52);
	memcpy(unpadded + 52, "._wireguard", 12);
	memset(d, 0, sizeof(d));
	CHECK(key_from_base32(unpadded, 52, d) == 0 && memcmp(k, d, WG_KEY_LEN) == 0);
	unpadded[52] = '\0';
	CHECK(key_from_base32(unpadded, 52, d) == 0 && memcmp(k, d, WG_KEY_LEN) == 0);
	for (int i = 0; i <= 56; i++)
		lower[i] = (char)((b32[i] >= 'A' && b32[i] <= 'Z') ? b32[i] + 32 : b32[i]);
	CHECK(key_from_base32(lower, 56, d) == 0 && memcmp(k, d, WG_KEY_LEN) == 0);
	CHECK(key_from_base32(b32, 55, d) == -EINVAL);
	CHECK(key_from_base32("0000000000000000000000000000000000000000000000000000", 52, d) == -EINVAL);
	lower[3] = '=';
	CHECK(key_from_base32(lower, 56, d) == -EINVAL);
	/* Strict: spare low bits set, a digit outside the alphabet, wrong padding; the key is left alone. */
	memset(d, 0x5a, sizeof(d));
	CHECK(key_from_base32("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB====", 56, d) == -EINVAL);
	CHECK(key_from_base32("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1====", 56, d) == -EINVAL);
	CHECK(key_from_base32("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA===A", 56, d) == -EINVAL);
	CHECK(d[0] == 0x5a && d[31] == 0x5a);
	CHECK(key_from_base32("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQ====", 56, d) == 0 && d[31] == 1);
	/* Round trips through ldns's encoder for many keys. */
	for (int n = 0; n < 1000; n++) {
		for (int i = 0; i < WG_KEY_LEN; i++)
			k[i] = (uint8_t)(n * 131 + i * i * 7 + (n >> 3) * i);
		key_to_base32(k, b32);
		CHECK(key_from_base32(b32, 56, d) == 0 && memcmp(k, d, WG_KEY_LEN) == 0);
	}
	key_to_hex(k, hex);
	CHECK(key_from_hex(hex, 64, d) == 0 && memcmp(k, d, WG_KEY_LEN) == 0);
	CHECK(key_from_hex(hex, 63, d) == -EINVAL);
	hex[5] = 'g';
	CHECK(key_from_hex(hex, 64, d) == -EINVAL);
	/* Every byte value as every digit position's neighbour of a valid digit: only 0-9a-fA-F pass. */
	{
		char h[KEY_HEX_LEN + 1];
		uint8_t want[WG_KEY_LEN];
		memset(h, '0', KEY_HEX_LEN);
		h[KEY_HEX_LEN] = '\0';
		for (int c = 0; c < 256; c++) {
			int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			for (int pos = 0; pos < 2; pos++) {
				h[62 + pos] = (char)c;
				memset(d, 0xa5, sizeof(d));
				int r = key_from_hex(h, 64, d);
				memset(want, 0, sizeof(want));
				if (v >= 0)
					want[31] = (uint8_t)(pos ? v : v << 4);
				CHECK(v < 0 ? r == -EINVAL && d[0] == 0xa5 : r == 0 && memcmp(d, want, WG_KEY_LEN) == 0);
				h[62 + pos] = '0';
			}
		}
		CHECK(key_from_hex("0123456789abcdefABCDEF0000000000000000000000000000000000000000ff", 64, d) == 0 &&
		      d[0] == 0x01 && d[3] == 0x67 && d[7] == 0xef && d[8] == 0xab && d[10] == 0xef && d[31] == 0xff);
	}
	/* A known pair: the all-zero key. */
	memset(k, 0, sizeof(k));
	key_to_base64(k, b64);
	CHECK(strcmp(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") == 0);
	key_to_base32(k, b32);
	CHECK(strcmp(b32, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA====") == 0);
	CHECK(key_is_zero(k));
	CHECK(key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", d) == -EINVAL); /* stray low bits */
	CHECK(key_from_base64("AAAA", d) == -EINVAL);
	CHECK(key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=", d) == -EINVAL);
}

/* Ordering prefixes: family first, then address, then length. */
static void test_cidr_order(void)
{
	struct cidr a, b;

	CHECK(cidr_parse("10.0.0.0/8", false, &a) == 0 && cidr_parse("10.0.0.0/8", false, &b) == 0);
	CHECK(cidr_cmp(&a, &b) == 0);
	CHECK(cidr_parse("10.0.0.0/16", false, &b) == 0 && cidr_cmp(&a, &b) < 0 && cidr_cmp(&b, &a) > 0);
	CHECK(cidr_parse("9.0.0.0/24", false, &b) == 0 && cidr_cmp(&a, &b) > 0);
	CHECK(cidr_parse("::/0", false, &b) == 0 && cidr_cmp(&a, &b) < 0 && cidr_cmp(&b, &a) > 0);
}

/* Finding a key in an array sorted by the keys its elements start with. */
static void test_key_search(void)
{
	struct elem {
		uint8_t key[WG_KEY_LEN];
		int value;
	} e[4];
	uint8_t k[WG_KEY_LEN];
	bool found = true;

	memset(e, 0, sizeof(e));
	for (int i = 0; i < 4; i++) {
		e[i].key[0] = (uint8_t)(10 * (i + 1));   /* 10, 20, 30, 40 */
		e[i].value = i;
	}
	memset(k, 0, sizeof(k));
	CHECK(key_search(NULL, 0, sizeof(*e), k, &found) == 0 && !found);
	for (int i = 0; i < 4; i++) {
		k[0] = e[i].key[0];
		CHECK(key_search(e, 4, sizeof(*e), k, &found) == (size_t)i && found);
		k[0]--;
		CHECK(key_search(e, 4, sizeof(*e), k, &found) == (size_t)i && !found);
	}
	k[0] = 41;
	CHECK(key_search(e, 4, sizeof(*e), k, &found) == 4 && !found);
	CHECK(key_search(e, 4, sizeof(*e), k, NULL) == 4);
	/* A difference in the last byte counts; bytes after the key do not. */
	k[0] = 20;
	k[WG_KEY_LEN - 1] = 1;
	CHECK(key_search(e, 4, sizeof(*e), k, &found) == 2 && !found);
	e[1].value = -1;
	k[WG_KEY_LEN - 1] = 0;
	CHECK(key_search(e, 4, sizeof(*e), k, &found) == 1 && found);
	CHECK(key_cmp(e[0].key, e[1].key) < 0 && key_cmp(e[1].key, e[1].key) == 0);
}

int main(void)
{
	test_addr();
	test_addr_same();
	test_endpoint_check();
	test_cidr();
	test_cidr_order();
	test_keys();
	test_key_search();
	return CHECK_DONE();
}
