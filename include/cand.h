/* SPDX-License-Identifier: MIT */
/*
 * Candidates: the other ways to reach a peer besides the endpoint the
 * registry observes. Shared by the registry (what peers register and what
 * it publishes) and the client (what it registers and tries).
 *
 * In DNS a candidate is one SRV record at B._wgcand._udp.ZONE whose target
 * is "<kind>-<n>.B.ZONE" (B = base32 of the peer's key), and that target's
 * A or AAAA record: the label says the kind, the SRV the port, the address
 * record the address. See README.md "Record layout".
 */
#ifndef WGSD_CAND_H
#define WGSD_CAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Most candidates one peer may publish (the registry's per-peer maximum is at most this). */
#define CAND_PEER_MAX 16
/* Longest candidate label ("mapped-15") plus NUL. */
#define CAND_LABEL_MAX 16
/* The service label of the candidate names: B._wgcand._udp.ZONE. */
#define CAND_SERVICE_LABEL "_wgcand"

/*
 * Kinds, in the order the client tries them (README "Path choice"). The
 * first four are registered by a peer for itself; registry and relay are
 * the client's own: never registered, never published under _wgcand.
 */
enum cand_kind {
	CAND_LAN = 0,       /* an address of one of the host's other interfaces (IPv4, IPv6 ULA) */
	CAND_V6,            /* a global IPv6 address of the host */
	CAND_REGISTRY,      /* the endpoint the registry observes (the SRV of B._wireguard._udp) */
	CAND_STATIC,        /* configured: candidates = ADDR[:PORT] */
	CAND_MAPPED,        /* a port mapping on the router (PCP, NAT-PMP, UPnP IGD) */
	CAND_KIND_MAX,
};

/* One candidate as stored and published: address in network order, port in host order. */
struct cand_rec {
	uint8_t kind;                 /* enum cand_kind */
	uint8_t index;                /* n of "<kind>-<n>", unique per kind and peer */
	uint8_t family;               /* AF_INET or AF_INET6 */
	uint16_t port;
	uint8_t addr[16];             /* 4 bytes used for AF_INET */
};

/* Short name of a kind: "lan", "v6", "registry", "static", "mapped" ("?" out of range). */
const char *cand_kind_name(enum cand_kind k);
/* Parse a kind name; 0 or -EINVAL. */
int cand_kind_parse(const char *name, enum cand_kind *out);
/* True for the kinds a peer registers for itself (lan, v6, static, mapped). */
bool cand_kind_registrable(enum cand_kind k);
/* Write the label "<kind>-<index>" (no NUL) into out (CAND_LABEL_MAX bytes); returns its length, 0 on a bad kind. */
size_t cand_label(const struct cand_rec *c, char out[CAND_LABEL_MAX]);
/*
 * Parse a label of len bytes ("lan-0", any letter case) into *kind and
 * *index: a registrable kind, a decimal index below CAND_PEER_MAX without
 * leading zeros. 0 or -EINVAL.
 */
int cand_label_parse(const uint8_t *label, size_t len, enum cand_kind *kind, uint8_t *index);
/* The candidate's address and port as a socket address. */
void cand_to_sockaddr(const struct cand_rec *c, union sockaddr_any *out);
/* Fill family, addr and port from a socket address (v4-mapped taken as IPv4); -EINVAL for another family. */
int cand_from_sockaddr(struct cand_rec *c, const union sockaddr_any *a);
/* True when both have the same family, address and port (kind and index ignored). */
bool cand_same_endpoint(const struct cand_rec *a, const struct cand_rec *b);

#endif
