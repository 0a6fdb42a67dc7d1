/* SPDX-License-Identifier: MIT */
/*
 * Candidate registration at the registry, pure logic: read a DNS UPDATE
 * (RFC 2136) and decide, against the zone snapshots, whether its sender may
 * make it and what it changes; write the response. No allocation, no I/O,
 * every length checked (fuzzed: tests/fuzz/fuzz-registry-update.c).
 *
 * Authentication is WireGuard's: the UPDATE must arrive on the zone's
 * WireGuard interface from an address inside the allowed IPs of a peer K
 * (longest prefix, as WireGuard routes: the key the packet was decrypted
 * with), whatever `access` says. It may only name K's own names, and must
 * replace K's whole candidate set:
 *
 *   zone    ZONE SOA IN
 *   update  B._wgcand._udp.ZONE ANY ANY          (delete all: first)
 *           B._wgcand._udp.ZONE SRV IN p w PORT <kind>-<n>.B.ZONE.
 *           <kind>-<n>.B.ZONE A|AAAA IN ADDRESS   (one per SRV target)
 *           <kind>-<n>.B.ZONE ANY ANY|A|AAAA      (deletes of targets: allowed, no effect)
 *   additional OPT with the Update Lease option (RFC 9664; 0 = deregister)
 *
 * B is the base32 of K. Priority and weight are the registry's (by kind).
 */
#ifndef WGSD_REGISTRY_UPDATE_H
#define WGSD_REGISTRY_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cand.h"
#include "key.h"

struct zone;
struct dns_client;

/* Records of an update section read at most (more: REFUSED without looking at them). */
#define REGISTRY_UPDATE_RECORDS_MAX 64
/* Shortest lease granted, and the lease of an UPDATE without the lease option. */
#define REGISTRY_UPDATE_LEASE_MIN_S 30
#define REGISTRY_UPDATE_LEASE_DEFAULT_S 600
/* EDNS option code of the Update Lease (RFC 9664). */
#define REGISTRY_UPDATE_LEASE_OPTION 2

/* DNS UPDATE opcode and its response codes beyond RFC 1035's. */
enum {
	DNS_OPCODE_UPDATE = 5,
	DNS_RCODE_NOTAUTH = 9,
	DNS_RCODE_NOTZONE = 10,
};

/* How an UPDATE was judged, for counters and logs (the rcode in brackets). */
enum registry_update_why {
	RU_OK = 0,            /* accepted (NOERROR) */
	RU_FORMERR,           /* malformed message or records (FORMERR) */
	RU_BADVERS,           /* EDNS version above 0 (BADVERS) */
	RU_NOT_ZONE,          /* the zone section names no served zone (NOTAUTH) */
	RU_SERVFAIL,          /* the zone's device cannot be read now (SERVFAIL) */
	RU_DISABLED,          /* candidates-per-peer = 0 (REFUSED) */
	RU_INTERFACE,         /* not arrived on the zone's WireGuard interface (REFUSED) */
	RU_NOT_PEER,          /* source inside no peer's allowed IPs (REFUSED) */
	RU_PREREQ,            /* a prerequisite section: not supported (REFUSED) */
	RU_OUTSIDE,           /* a name outside the zone (NOTZONE) */
	RU_FOREIGN,           /* a name that is not the sender's own (REFUSED) */
	RU_NOT_REPLACE,       /* not the replacement of the whole set (REFUSED) */
	RU_UNSUPPORTED,       /* a type or class candidates do not use, a signature (REFUSED) */
	RU_TOO_MANY,          /* more records or candidates than allowed (REFUSED) */
	RU_BAD_CANDIDATE,     /* an unusable address or port, a bad label, a target without address (REFUSED) */
	RU_ZONE_FULL,         /* the zone's maximum is reached (REFUSED; decided by the caller) */
	RU_WHY_MAX,
};

/* What an UPDATE is judged against. */
struct registry_update_env {
	struct zone *const *zones;
	size_t n_zones;
	unsigned int per_peer;        /* most candidates per peer; 0: updates refused */
	uint32_t lease_max_s;         /* longest lease granted */
};

/* The verdict on one UPDATE and what it changes. */
struct registry_update {
	uint16_t rcode;
	enum registry_update_why why;
	int zone;                     /* index into env->zones, -1 when none */
	bool has_key;                 /* key is the sender's (the source mapped to a peer) */
	uint8_t key[WG_KEY_LEN];
	struct cand_rec cands[CAND_PEER_MAX];
	size_t n;                     /* with rcode NOERROR: K's new set (0: removed) */
	uint32_t lease_s;             /* granted (0 with n = 0) */
	bool has_lease_option;        /* the request carried one: the response does too */
	/* For the response. */
	uint16_t id;
	bool has_edns;
	size_t zone_end;              /* offset after the zone section, 0 when it was not read */
};

/*
 * Judge msg (len bytes) from cl. Returns false when the message is no
 * UPDATE request (shorter than a header, a response, another opcode): the
 * caller handles it otherwise. Otherwise out says what to answer and, with
 * NOERROR, the sender's new candidate set.
 */
bool registry_update_parse(const struct registry_update_env *env, const struct dns_client *cl,
			   const uint8_t *msg, size_t len, struct registry_update *out);
/*
 * Write the response to an UPDATE judged by registry_update_parse() (u may
 * have been changed since, e.g. to RU_ZONE_FULL/REFUSED): the request's
 * header with QR and the rcode, its zone section, and an OPT when it had one
 * (with the granted lease when it asked for one). Returns the length, 0 when
 * cap is too small.
 */
size_t registry_update_reply(const uint8_t *msg, size_t len, const struct registry_update *u, uint8_t *out,
			     size_t cap);
/* Short name of a verdict ("ok", "formerr", "interface", ...). */
const char *registry_update_why_name(enum registry_update_why w);

#endif
