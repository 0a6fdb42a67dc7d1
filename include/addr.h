/* SPDX-License-Identifier: MIT */
/* Socket addresses and CIDR prefixes: parsing, formatting, matching. */
#ifndef WGSD_ADDR_H
#define WGSD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Longest text addr_format() writes: "[ipv6%scope]:65535" plus NUL. */
#define ADDR_STRLEN 64
/* Longest text cidr_format() writes. */
#define CIDR_STRLEN 52

/* An IPv4 or IPv6 socket address; family AF_UNSPEC means "none". */
union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

/* An address prefix. addr holds 4 (AF_INET) or 16 (AF_INET6) bytes. */
struct cidr {
	uint8_t family;  /* AF_INET or AF_INET6 */
	uint8_t prefix;  /* 0..32 or 0..128 */
	uint8_t addr[16];
};

/* Parse "IPv4:port", "[IPv6]:port", or a bare address when default_port >= 0. Returns 0 or -EINVAL. */
int addr_parse(const char *text, int default_port, union sockaddr_any *out);
/* Write "a.b.c.d:port" or "[v6]:port" (or "none" for AF_UNSPEC) into buf; returns buf. */
char *addr_format(const union sockaddr_any *a, char *buf, size_t len);
/* Write the address only, without port. Returns buf. */
char *addr_format_ip(const union sockaddr_any *a, char *buf, size_t len);
/* Length of the sockaddr for a's family (0 for AF_UNSPEC). */
socklen_t addr_len(const union sockaddr_any *a);
/* Port in host order, 0 for AF_UNSPEC. */
uint16_t addr_port(const union sockaddr_any *a);
/* True when both have the same family, address and port. */
bool addr_equal(const union sockaddr_any *a, const union sockaddr_any *b);
/* Turn a v4-mapped IPv6 address into plain IPv4 in place. */
void addr_unmap_v4(union sockaddr_any *a);
/* True when a and b are the same IP address, ports ignored; a v4-mapped IPv6 address counts as its IPv4 one. */
bool addr_same_ip(const union sockaddr_any *a, const union sockaddr_any *b);
/* addr_equal() after addr_unmap_v4() of both: the same address and port. */
bool addr_same_endpoint(const union sockaddr_any *a, const union sockaddr_any *b);

/* Why an address cannot be a WireGuard endpoint (ADDR_EP_OK: it can). */
enum addr_ep {
	ADDR_EP_OK = 0,
	ADDR_EP_NONE,          /* AF_UNSPEC or another family */
	ADDR_EP_PORT_ZERO,
	ADDR_EP_UNSPECIFIED,   /* 0.0.0.0/8 or :: */
	ADDR_EP_LOOPBACK,      /* 127.0.0.0/8 or ::1 */
	ADDR_EP_MULTICAST,     /* 224.0.0.0/4 or ff00::/8 */
	ADDR_EP_BROADCAST,     /* 255.255.255.255 and 240.0.0.0/4 (reserved) */
	ADDR_EP_LINK_LOCAL,    /* fe80::/10: its scope cannot travel in DNS */
};

/* Check that a (v4-mapped IPv6 taken as IPv4) is a unicast address and port another host can send to. */
enum addr_ep addr_endpoint_check(const union sockaddr_any *a);
/* A short text for an addr_ep value ("loopback address", ...). */
const char *addr_endpoint_reason(enum addr_ep e);

/* Parse "addr/prefix" (or a bare address = host prefix). Host bits must be zero unless allow_host_bits. Returns 0 or -EINVAL. */
int cidr_parse(const char *text, bool allow_host_bits, struct cidr *out);
/* Order prefixes by family, address, length (qsort). */
int cidr_cmp(const void *a, const void *b);
/* Write "addr/prefix" into buf; returns buf. */
char *cidr_format(const struct cidr *c, char *buf, size_t len);
/* True when the address part of a lies inside prefix c (v4-mapped IPv6 matches IPv4 prefixes). */
bool cidr_contains(const struct cidr *c, const union sockaddr_any *a);
/* True when c contains the raw address bytes of family. */
bool cidr_contains_raw(const struct cidr *c, int family, const void *addr);

#endif
