/* SPDX-License-Identifier: MIT */
/*
 * Client role, mesh membership, pure logic: reading a zone transfer (AXFR,
 * RFC 5936) of a registry's zone, message by message, into the complete
 * listing and what the zone says of each listed peer: its SRV port, the
 * target's A/AAAA and the allowed IPs of its TXT. Used when the PTR listing
 * does not fit one DNS message. Bounded (records, bytes); no I/O, no logging.
 */
#ifndef WGSD_CLIENT_AXFR_H
#define WGSD_CLIENT_AXFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "addr.h"
#include "cand.h"
#include "client-answer.h"
#include "client-members.h"
#include "key.h"

/* What the transferred zone says of one listed peer. */
struct client_axfr_peer {
	uint8_t key[WG_KEY_LEN];
	uint16_t port;                 /* SRV port; 0: no SRV, or more than one (ask for it) */
	char target[DNAME_STRLEN];     /* SRV target, lower case, absolute */
	union sockaddr_any addrs[CLIENT_ANSWER_MAX_ADDRS]; /* the target's A/AAAA, port = SRV port */
	size_t n_addrs;
	struct cidr *allowed;          /* the TXT's allowed IPs */
	int n_allowed;                 /* how many, or -errno as client_members_txt(): -ENODATA without a TXT */
};

/* A finished transfer. */
struct client_axfr_result {
	uint32_t serial;
	struct client_listing listing; /* COMPLETE, or PARTIAL with unreadable PTR records */
	struct client_axfr_peer *peers; /* one per listed key, in key order */
	size_t n_peers;
	size_t n_records;              /* answer records, both SOAs included */
	size_t n_bytes;                /* message bytes */
	size_t n_messages;
	size_t n_outside;              /* records outside the zone, ignored */
};

struct client_axfr_srv;
struct client_axfr_txt;
struct client_axfr_addr;

/* A transfer being read. */
struct client_axfr {
	size_t max_records, max_bytes;
	ldns_rdf *apex;                /* the zone */
	ldns_rdf *service;             /* _wireguard._udp.ZONE */
	bool started;                  /* the first SOA was read */
	bool done;                     /* the last SOA was read */
	uint8_t rcode;                 /* the error rcode that ended it (client_axfr_feed() -EREMOTEIO) */
	struct client_axfr_result res;
	uint8_t (*keys)[WG_KEY_LEN];   /* PTR targets, unsorted */
	size_t n_keys, cap_keys;
	struct client_axfr_srv *srv;
	size_t n_srv, cap_srv;
	struct client_axfr_txt *txt;
	size_t n_txt, cap_txt;
	struct client_axfr_addr *addr;
	size_t n_addr, cap_addr;
};

/*
 * What a client allows per listed peer when it reads a transfer (client.c
 * multiplies these by the peers it may list): the peer's PTR, SRV, TXT and
 * addresses, and its candidates (one SRV and one A/AAAA each, whole names
 * at worst, and the _wgcand PTR).
 */
#define CLIENT_AXFR_RECORDS_PER_PEER (16 + 1 + 2 * CAND_PEER_MAX)
#define CLIENT_AXFR_BYTES_PER_PEER (1024 + 320 * CAND_PEER_MAX)

/* Start reading a transfer of zone, refusing more than max_records records or max_bytes bytes. 0, -EINVAL or -ENOMEM. */
int client_axfr_init(struct client_axfr *x, const char *zone, size_t max_records, size_t max_bytes);
/*
 * Read the next message of the stream (its ID already matched). Returns 0
 * when more messages must follow, 1 when the last SOA was read, or an
 * error that ends the transfer: -EREMOTEIO for an error rcode (x->rcode),
 * -EFBIG past the limits, -EBADMSG for a malformed message, a question other
 * than the zone's AXFR, a first record that is not the zone's SOA, an SOA
 * of another serial, records after the last SOA, or TC set; -ENOMEM.
 */
int client_axfr_feed(struct client_axfr *x, const uint8_t *wire, size_t len);
/* After feed returned 1: move the listing and the peers into out (cleared first). 0 or -ENOMEM, -EINVAL before the end. */
int client_axfr_finish(struct client_axfr *x, struct client_axfr_result *out);
/* Free a transfer being read (a finished one too). */
void client_axfr_free(struct client_axfr *x);
/* Free a result's peers and listing. */
void client_axfr_result_clear(struct client_axfr_result *r);
/* The peer of key in a result, NULL when the transfer did not list it. */
const struct client_axfr_peer *client_axfr_find(const struct client_axfr_result *r, const uint8_t key[WG_KEY_LEN]);

#endif
