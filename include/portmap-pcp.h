/* SPDX-License-Identifier: MIT */
/*
 * PCP (RFC 6887) MAP requests and responses on the wire, and the epoch
 * check that PCP and NAT-PMP (RFC 6886 3.6) share. Pure: no I/O, no logging.
 */
#ifndef WGSD_PORTMAP_PCP_H
#define WGSD_PORTMAP_PCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTMAP_PCP_PORT 5351
#define PORTMAP_PCP_VERSION 2
#define PORTMAP_PCP_NONCE_LEN 12
/* A MAP request without options: 24-byte common header + 36-byte MAP body. */
#define PORTMAP_PCP_MAP_LEN 60
/* The largest PCP message (RFC 6887 7). */
#define PORTMAP_PCP_MAX_LEN 1100

#define PORTMAP_PCP_OP_ANNOUNCE 0
#define PORTMAP_PCP_OP_MAP 1

/* Result codes (RFC 6887 7.4). */
enum portmap_pcp_result {
	PORTMAP_PCP_SUCCESS = 0,
	PORTMAP_PCP_UNSUPP_VERSION = 1,
	PORTMAP_PCP_NOT_AUTHORIZED = 2,
	PORTMAP_PCP_MALFORMED_REQUEST = 3,
	PORTMAP_PCP_UNSUPP_OPCODE = 4,
	PORTMAP_PCP_UNSUPP_OPTION = 5,
	PORTMAP_PCP_MALFORMED_OPTION = 6,
	PORTMAP_PCP_NETWORK_FAILURE = 7,
	PORTMAP_PCP_NO_RESOURCES = 8,
	PORTMAP_PCP_UNSUPP_PROTOCOL = 9,
	PORTMAP_PCP_USER_EX_QUOTA = 10,
	PORTMAP_PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PORTMAP_PCP_ADDRESS_MISMATCH = 12,
	PORTMAP_PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

/* What a MAP request asks for. Addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d. */
struct portmap_pcp_map {
	uint8_t nonce[PORTMAP_PCP_NONCE_LEN];
	uint8_t protocol;              /* IANA number: 17 for UDP */
	uint16_t internal_port;
	uint16_t external_port;        /* suggested; 0: any */
	uint32_t lifetime_s;           /* 0 deletes the mapping */
	uint8_t client[16];            /* the source address the request leaves from */
	uint8_t external[16];          /* suggested; all zero (or ::ffff:0.0.0.0): any */
};

/* A parsed response. The MAP fields are set only for opcode MAP. */
struct portmap_pcp_response {
	uint8_t opcode;                /* without the R bit */
	uint8_t result;                /* enum portmap_pcp_result */
	uint32_t lifetime_s;           /* of the mapping, or how long an error holds */
	uint32_t epoch_s;              /* the server's epoch time */
	uint8_t nonce[PORTMAP_PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t internal_port;
	uint16_t external_port;
	uint8_t external[16];
};

/* Write a MAP request into buf; returns its length (60) or -ENOSPC. */
int portmap_pcp_build_map(const struct portmap_pcp_map *m, uint8_t *buf, size_t len);
/*
 * Parse a datagram from a PCP server. 0 on success (whatever the result code);
 * -EPROTONOSUPPORT for a server of an older version refusing ours (a
 * NAT-PMP-only server answers version 0, UNSUPP_VERSION); -EBADMSG for
 * anything else malformed, a request, or an opcode other than MAP and
 * ANNOUNCE.
 */
int portmap_pcp_parse(const uint8_t *buf, size_t len, struct portmap_pcp_response *out);
/* True when r answers the MAP request m: opcode, nonce, protocol and internal port. */
bool portmap_pcp_matches(const struct portmap_pcp_response *r, const struct portmap_pcp_map *m);
/* Name of a result code ("NOT_AUTHORIZED", ...; "result N" text for unknown ones in buf). */
const char *portmap_pcp_result_name(uint8_t result, char *buf, size_t len);

/* Write an IPv4 address (network order, 4 bytes) as the 16-byte ::ffff:a.b.c.d form. */
void portmap_pcp_addr_from_v4(uint8_t out[16], const void *v4);
/* The IPv4 address inside a ::ffff:a.b.c.d form; false when it is not one. */
bool portmap_pcp_addr_to_v4(const uint8_t in[16], void *v4);

/* What a client remembers of one server's epoch (RFC 6887 8.5). */
struct portmap_pcp_epoch {
	bool valid;                    /* a previous response was seen */
	uint32_t server_s;             /* its epoch time */
	uint64_t client_ms;            /* our monotonic time when it arrived */
};

/*
 * Take a response's epoch time, received at client_ms. Returns true when the
 * server has lost its state since the previous response (it went back more
 * than a second, or advanced at a rate too different from ours): its
 * mappings must be re-created. Records the new values either way.
 */
bool portmap_pcp_epoch_update(struct portmap_pcp_epoch *e, uint32_t server_s, uint64_t client_ms);

#endif
