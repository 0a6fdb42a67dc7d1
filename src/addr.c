/* SPDX-License-Identifier: MIT */
/* Socket addresses and CIDR prefixes: parsing, formatting, matching. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* Parse a decimal port 0..65535 from the whole string s. */
static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* Parse "IPv4:port", "[IPv6]:port" or, when default_port >= 0, a bare address. */
int addr_parse(const char *text, int default_port, union sockaddr_any *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_text = NULL;
	uint16_t port = 0;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close)
			return -EINVAL;
		hlen = (size_t)(close - text - 1);
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) != 1)
			return -EINVAL;
		out->in6.sin6_family = AF_INET6;
	} else {
		const char *colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* Bare IPv6 address without brackets: no port possible. */
			if (strlen(text) >= sizeof(host) || inet_pton(AF_INET6, text, &out->in6.sin6_addr) != 1)
				return -EINVAL;
			out->in6.sin6_family = AF_INET6;
		} else {
			hlen = colon ? (size_t)(colon - text) : strlen(text);
			if (hlen == 0 || hlen >= sizeof(host))
				return -EINVAL;
			memcpy(host, text, hlen);
			host[hlen] = '\0';
			if (inet_pton(AF_INET, host, &out->in.sin_addr) != 1)
				return -EINVAL;
			out->in.sin_family = AF_INET;
			if (colon)
				port_text = colon + 1;
		}
	}
	if (port_text) {
		if (parse_port(port_text, &port) < 0)
			return -EINVAL;
	} else {
		if (default_port < 0 || default_port > 65535)
			return -EINVAL;
		port = (uint16_t)default_port;
	}
	if (out->sa.sa_family == AF_INET)
		out->in.sin_port = htons(port);
	else
		out->in6.sin6_port = htons(port);
	return 0;
}

/* Write the address only. */
char *addr_format_ip(const union sockaddr_any *a, char *buf, size_t len)
{
	if (a->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->in.sin_addr, buf, (socklen_t)len);
	else if (a->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, (socklen_t)len);
	else
		snprintf(buf, len, "none");
	return buf;
}

/* Write "a.b.c.d:port" or "[v6]:port". */
char *addr_format(const union sockaddr_any *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET)
		snprintf(buf, len, "%s:%u", addr_format_ip(a, ip, sizeof(ip)), ntohs(a->in.sin_port));
	else if (a->sa.sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", addr_format_ip(a, ip, sizeof(ip)), ntohs(a->in6.sin6_port));
	else
		snprintf(buf, len, "none");
	return buf;
}

/* sockaddr length for the family. */
socklen_t addr_len(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (a->sa.sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

/* Port in host order. */
uint16_t addr_port(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

/* Same family, address and port (scope ids are ignored). */
bool addr_equal(const union sockaddr_any *a, const union sockaddr_any *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return true;
}

/* ::ffff:a.b.c.d -> a.b.c.d, keeping the port. */
void addr_unmap_v4(union sockaddr_any *a)
{
	if (a->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
		return;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = a->in6.sin6_port };
	memcpy(&in.sin_addr, &a->in6.sin6_addr.s6_addr[12], 4);
	memset(a, 0, sizeof(*a));
	a->in = in;
}

/* The same IP address, ports ignored, v4-mapped unmapped. */
bool addr_same_ip(const union sockaddr_any *a, const union sockaddr_any *b)
{
	union sockaddr_any x = *a, y = *b;

	addr_unmap_v4(&x);
	addr_unmap_v4(&y);
	if (x.sa.sa_family != y.sa.sa_family)
		return false;
	if (x.sa.sa_family == AF_INET)
		return x.in.sin_addr.s_addr == y.in.sin_addr.s_addr;
	return x.sa.sa_family == AF_INET6 && memcmp(&x.in6.sin6_addr, &y.in6.sin6_addr, 16) == 0;
}

/* The same address and port, v4-mapped unmapped. */
bool addr_same_endpoint(const union sockaddr_any *a, const union sockaddr_any *b)
{
	union sockaddr_any x = *a, y = *b;

	addr_unmap_v4(&x);
	addr_unmap_v4(&y);
	return addr_equal(&x, &y);
}

/* Check that an address and port can be a peer's endpoint. */
enum addr_ep addr_endpoint_check(const union sockaddr_any *a)
{
	union sockaddr_any u = *a;

	addr_unmap_v4(&u);
	if (u.sa.sa_family == AF_INET) {
		uint32_t v4 = ntohl(u.in.sin_addr.s_addr);

		if (u.in.sin_port == 0)
			return ADDR_EP_PORT_ZERO;
		if ((v4 >> 24) == 0)
			return ADDR_EP_UNSPECIFIED;
		if ((v4 >> 24) == 127)
			return ADDR_EP_LOOPBACK;
		if ((v4 >> 28) == 0xe)
			return ADDR_EP_MULTICAST;
		if ((v4 >> 28) == 0xf)
			return ADDR_EP_BROADCAST;
		return ADDR_EP_OK;
	}
	if (u.sa.sa_family == AF_INET6) {
		const struct in6_addr *v6 = &u.in6.sin6_addr;

		if (u.in6.sin6_port == 0)
			return ADDR_EP_PORT_ZERO;
		if (IN6_IS_ADDR_UNSPECIFIED(v6))
			return ADDR_EP_UNSPECIFIED;
		if (IN6_IS_ADDR_LOOPBACK(v6))
			return ADDR_EP_LOOPBACK;
		if (IN6_IS_ADDR_MULTICAST(v6))
			return ADDR_EP_MULTICAST;
		if (IN6_IS_ADDR_LINKLOCAL(v6))
			return ADDR_EP_LINK_LOCAL;
		return ADDR_EP_OK;
	}
	return ADDR_EP_NONE;
}

/* Text for an endpoint check result. */
const char *addr_endpoint_reason(enum addr_ep e)
{
	switch (e) {
	case ADDR_EP_OK: return "usable";
	case ADDR_EP_NONE: return "no address";
	case ADDR_EP_PORT_ZERO: return "port 0";
	case ADDR_EP_UNSPECIFIED: return "unspecified address";
	case ADDR_EP_LOOPBACK: return "loopback address";
	case ADDR_EP_MULTICAST: return "multicast address";
	case ADDR_EP_BROADCAST: return "broadcast or reserved address";
	case ADDR_EP_LINK_LOCAL: return "link-local IPv6 address without scope";
	}
	return "unusable address";
}

/* Parse "addr/prefix" or a bare address. */
int cidr_parse(const char *text, bool allow_host_bits, struct cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;
	int maxp;

	memset(out, 0, sizeof(*out));
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		maxp = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		char *end;
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > (unsigned long)maxp)
			return -EINVAL;
	} else {
		prefix = (unsigned long)maxp;
	}
	out->prefix = (uint8_t)prefix;
	/* Check (or clear) bits beyond the prefix. */
	for (int bit = (int)prefix; bit < maxp; bit++) {
		uint8_t mask = (uint8_t)(0x80 >> (bit % 8));
		if (out->addr[bit / 8] & mask) {
			if (!allow_host_bits)
				return -EINVAL;
			out->addr[bit / 8] &= (uint8_t)~mask;
		}
	}
	return 0;
}

/* Write "addr/prefix". */
char *cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, "%s/%u", ip, c->prefix);
	return buf;
}

/* Compare the first prefix bits of two byte strings. */
static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned int prefix)
{
	unsigned int bytes = prefix / 8, bits = prefix % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00 >> bits);
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* True when c contains the raw address of family. */
bool cidr_contains_raw(const struct cidr *c, int family, const void *addr)
{
	const uint8_t *a = addr;

	if (family == AF_INET6 && c->family == AF_INET &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr))
		return prefix_match(c->addr, a + 12, c->prefix);
	if (family != c->family)
		return false;
	return prefix_match(c->addr, a, c->prefix);
}

/* True when the address of a lies inside c. */
bool cidr_contains(const struct cidr *c, const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return cidr_contains_raw(c, AF_INET, &a->in.sin_addr);
	if (a->sa.sa_family == AF_INET6)
		return cidr_contains_raw(c, AF_INET6, &a->in6.sin6_addr);
	return false;
}

int cidr_cmp(const void *pa, const void *pb)
{
	const struct cidr *a = pa, *b = pb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return a->prefix < b->prefix ? -1 : a->prefix > b->prefix;
}
