/* SPDX-License-Identifier: MIT */
/*
 * A snapshot's records as whole resource records, for zone transfers: the
 * apex (SOA, NS, in-zone glue) and each published entry's records, exactly
 * the data dns-answer.c serves, with two differences that are the point of
 * transferring it:
 *  - TXT carries no "seen=" string: seconds since a handshake change every
 *    second, and a copy served by a secondary would be wrong anyway; the zone
 *    changes only when something a client acts on changes (peers, endpoints,
 *    allowed IPs, candidates).
 *  - self = auto has no address of its own (dns-answer.c uses the address a
 *    query arrived on, which means nothing to a secondary): its PTR and TXT
 *    are transferred, its SRV, A and AAAA are not.
 *
 * An entry with registered candidates also has their records, as
 * dns-answer.c serves them: _wgcand._udp.Z PTR B._wgcand._udp.Z, one SRV per
 * candidate at B._wgcand._udp.Z (priority (kind + 1) * 10, weight 0, target
 * <kind>-<n>.B.Z) and that target's A or AAAA.
 *
 * Every record dns-answer.c serves for an entry must be rendered here: the
 * IXFR history (zone-history.c) compares rendered records.
 *
 * Names are uncompressed wire form (the zone's labels in lower case, the
 * base32 labels in upper case, as in answers); rdata names that RFC 1035
 * lets a writer compress (PTR, NS, SOA) are marked so a message writer may.
 */
#ifndef WGSD_ZONE_RR_H
#define WGSD_ZONE_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cand.h"
#include "zone.h"

/* Records of one entry: PTR, SRV, TXT, A or AAAA twice; the candidate PTR, an SRV and an address per candidate. */
#define ZONE_RR_ENTRY_MAX (5 + 1 + 2 * CAND_PEER_MAX)
#define ZONE_RR_APEX_MAX 2            /* SOA and NS; glue comes after */

/* One record without TTL and class (IN): owner, type and rdata. */
struct zone_rr {
	const uint8_t *owner;
	uint16_t owner_len;
	uint16_t type;
	const uint8_t *rdata;
	uint16_t rdlen;
	uint8_t n_names;                  /* compressible names inside rdata, in order */
	uint16_t name_off[2];
	uint16_t name_len[2];
};

/* Storage for the names and small rdata of one entry's records. */
struct zone_rr_scratch {
	uint8_t service[ZONE_WIRE_MAX + 32];    /* _wireguard._udp.Z */
	uint8_t instance[ZONE_WIRE_MAX + 96];   /* B._wireguard._udp.Z */
	uint8_t host[ZONE_WIRE_MAX + 64];       /* B.Z */
	uint8_t srv[6 + ZONE_WIRE_MAX + 64];
	uint8_t soa[2 * (ZONE_WIRE_MAX + 16) + 20];
	uint8_t cand_service[ZONE_WIRE_MAX + 32];          /* _wgcand._udp.Z */
	uint8_t cand_instance[ZONE_WIRE_MAX + 96];         /* B._wgcand._udp.Z */
	uint8_t cand_srv[CAND_PEER_MAX][6 + ZONE_WIRE_MAX + 96]; /* SRV rdata; its target owns the address */
};

/*
 * The records of entry e of z into rrs (ZONE_RR_ENTRY_MAX). Pointers go into
 * s, e and z, valid while they are. Returns the number of records, or -ENAMETOOLONG
 * when a name would pass 255 bytes (a zone name too long for its records).
 */
int zone_rr_entry(const struct zone *z, const struct zone_entry *e, struct zone_rr_scratch *s, struct zone_rr *rrs);
/* The SOA of z with serial and minimum (the registry's TTL, as in answers) into *rr (pointers into s and z). */
void zone_rr_soa(const struct zone *z, uint32_t serial, uint32_t minimum, struct zone_rr_scratch *s,
		 struct zone_rr *rr);
/* The NS of z into *rr. */
void zone_rr_ns(const struct zone *z, struct zone_rr *rr);
/* Glue record i of z (A then AAAA; none unless the NS name is in the zone): false past the last. */
bool zone_rr_glue(const struct zone *z, size_t i, struct zone_rr *rr);
/* True when two records are equal (owner case-insensitive, rdata bytes). */
bool zone_rr_equal(const struct zone_rr *a, const struct zone_rr *b);
/* Bytes of the record uncompressed on the wire, TTL and class included. */
size_t zone_rr_wire_size(const struct zone_rr *rr);

#endif
