/* SPDX-License-Identifier: MIT */
/*
 * Client role, mesh membership (peers = auto), pure logic: reading a
 * registry's listing (PTR of _wireguard._udp.ZONE) and a listed peer's
 * allowed IPs (its TXT), deciding whether a listed peer may be added (the
 * guard rails), and when a peer that wgsd added counts as gone for good.
 * No I/O, no logging.
 */
#ifndef WGSD_CLIENT_MEMBERS_H
#define WGSD_CLIENT_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "addr.h"
#include "key.h"
#include "wg.h"

/* Most allowed IPs a peer may have to be added (more: refused as "too many"). */
#define CLIENT_MEMBERS_MAX_ALLOWED 256
/*
 * Most "allowedN=" keys read from one TXT record: wgsd's registry writes at
 * most some 300 strings into its 64 KiB record. A list that goes on past it
 * is not read in part: -ENOBUFS.
 */
#define CLIENT_MEMBERS_ALLOWED_KEYS_MAX 512

enum client_listing_status {
	CLIENT_LISTING_NONE = 0,   /* no answer (timeout, transport error) */
	CLIENT_LISTING_COMPLETE,   /* every peer the registry publishes is in keys */
	CLIENT_LISTING_TRUNCATED,  /* TC=1 (even over TCP): keys holds only the start of the listing */
	CLIENT_LISTING_PARTIAL,    /* some PTR records were unreadable: keys holds the readable ones */
	CLIENT_LISTING_RCODE,      /* an error rcode (NXDOMAIN included: the service name must exist) */
};

/* One registry's listing: the keys it publishes, sorted and unique. */
struct client_listing {
	enum client_listing_status status;
	uint8_t rcode;
	uint8_t (*keys)[WG_KEY_LEN];
	size_t n_keys;
	size_t n_unreadable;       /* PTR records whose target is not B._wireguard._udp.ZONE */
};

/* Write "_wireguard._udp.ZONE" (absolute) into out. 0 or -ENAMETOOLONG. */
int client_members_listing_qname(const char *zone, char *out, size_t len);
/*
 * Read a response to "PTR client_members_listing_qname(zone)" into out
 * (cleared first). NOERROR without records is a complete, empty listing.
 * Returns 0, or -ENOMEM (out then holds no keys and status NONE).
 */
int client_members_listing_parse(const ldns_pkt *pkt, const char *zone, struct client_listing *out);
/*
 * The key a PTR target (or an SRV or TXT owner) B._wireguard._udp.ZONE
 * names, where service is _wireguard._udp.ZONE: B is base32, padded or
 * not, any case. False for any other name.
 */
bool client_members_ptr_key(const ldns_rdf *target, const ldns_rdf *service, uint8_t key[WG_KEY_LEN]);
/* Free the keys and reset to NONE. */
void client_members_listing_clear(struct client_listing *l);
/* True when key is in the listing. */
bool client_members_listing_has(const struct client_listing *l, const uint8_t key[WG_KEY_LEN]);
/* True when the listing can prove a peer absent: complete and fully readable. */
bool client_members_listing_complete(const struct client_listing *l);
/* "none", "complete", "truncated", "partial", "rcode". */
const char *client_members_listing_status_name(enum client_listing_status s);

/*
 * The allowed IPs in the rdata (len bytes, wire form: each string after
 * its length byte) of a peer's TXT record, in the one place that follows
 * the record layout: the comma-separated prefixes of "allowed=", then of
 * "allowed2=", "allowed3=", ... up to the first missing number (one key
 * per string, RFC 6763 6.4). Keys match ignoring case. A repeated
 * "allowed=" string (registries before the allowedN= layout split long
 * lists that way) continues the list instead of being ignored; any other
 * repeated key counts once. Returns how many prefixes were stored in out
 * (at most cap, duplicates dropped), -ENOBUFS when there are more (or
 * more keys than CLIENT_MEMBERS_ALLOWED_KEYS_MAX),
 * -ENOENT without an "allowed=" key, -EPROTONOSUPPORT when "txtvers=" is
 * not 1, -EBADMSG for malformed rdata or a prefix that does not parse
 * (host bits set included).
 */
int client_members_allowed(const uint8_t *rdata, size_t len, struct cidr *out, size_t cap);

/*
 * Find the TXT record of B._wireguard._udp.ZONE for key in a response
 * (answer and additional sections) and read its allowed IPs as
 * client_members_allowed() does. Also -ENODATA when there is no such TXT
 * (ask for it), -EBADMSG when "pub=" names another key or the name has
 * more than one TXT record.
 */
int client_members_txt(const ldns_pkt *pkt, const uint8_t key[WG_KEY_LEN], const char *zone,
		       struct cidr *out, size_t cap);

/*
 * Read the allowed IPs of one TXT record as client_members_allowed() does;
 * -EBADMSG also when its "pub=" names another key than key.
 */
int client_members_txt_rr(const ldns_rr *txt, const uint8_t key[WG_KEY_LEN], struct cidr *out, size_t cap);

/* Sort prefixes (family, address, length) and drop duplicates; returns the new count. */
size_t client_members_allowed_sort(struct cidr *c, size_t n);
/* True when two lists hold the same prefixes, in any order (duplicates ignored). */
bool client_members_allowed_same(const struct cidr *a, size_t na, const struct cidr *b, size_t nb);
/* True when two prefixes share an address (one contains the other). */
bool client_members_overlap(const struct cidr *a, const struct cidr *b);

/* Why a listed peer is not added; OK when it may be. */
enum client_members_refusal {
	CLIENT_MEMBERS_OK = 0,
	CLIENT_MEMBERS_EXCLUDED,       /* listed in exclude */
	CLIENT_MEMBERS_NO_ALLOWED,     /* the registry publishes no allowed IPs for it */
	CLIENT_MEMBERS_BAD_ALLOWED,    /* unreadable allowed IPs, or more than CLIENT_MEMBERS_MAX_ALLOWED */
	CLIENT_MEMBERS_DISAGREE,       /* registries publish different allowed IPs */
	CLIENT_MEMBERS_OUTSIDE,        /* an allowed IP outside auto-allowed-ips */
	CLIENT_MEMBERS_OVERLAP_SELF,   /* an allowed IP holds one of this device's own addresses */
	CLIENT_MEMBERS_OVERLAP_PEER,   /* overlaps a peer on the device (or one added before it) */
	CLIENT_MEMBERS_REGISTRY,       /* an allowed IP holds a registry's address */
	CLIENT_MEMBERS_LIMIT,          /* auto-max-peers reached */
};
#define CLIENT_MEMBERS_N_REFUSALS (CLIENT_MEMBERS_LIMIT + 1)

/* Short name for status and metrics: "excluded", "no-allowed-ips", "bad-allowed-ips", ... */
const char *client_members_refusal_name(enum client_members_refusal r);
/* Text for the log: "its allowed IPs are not all inside auto-allowed-ips", ... */
const char *client_members_refusal_text(enum client_members_refusal r);

/* The section's rules. */
struct client_members_policy {
	const struct cidr *auto_allowed;      /* auto-allowed-ips */
	size_t n_auto_allowed;
	unsigned int max_peers;               /* auto-max-peers */
	const uint8_t *exclude;               /* keys back to back */
	size_t n_exclude;
	const union sockaddr_any *registries;
	size_t n_registries;
};

/* What a candidate is checked against. */
struct client_members_view {
	const struct wg_device *dev;          /* a device reading: its peers' allowed IPs */
	const struct cidr *own_addrs;         /* the WireGuard interface's own addresses */
	size_t n_own_addrs;
	const struct cidr *accepted;          /* allowed IPs of peers accepted before it, not yet on dev */
	size_t n_accepted;
	size_t n_added;                       /* peers wgsd added (on the device or accepted) */
};

/*
 * Decide whether a listed peer that is not on the device may be added with
 * these allowed IPs (n == 0: none published). Checks in this order:
 * excluded, no allowed IPs, outside auto-allowed-ips, a registry address
 * inside, the device's own addresses inside, overlap with a peer of the
 * reading or an accepted one, then the limit (n_added >= max_peers). The
 * device's own key is not a refusal: callers skip it, it is always listed.
 */
enum client_members_refusal client_members_vet(const struct client_members_policy *pol,
					       const struct client_members_view *v,
					       const uint8_t key[WG_KEY_LEN],
					       const struct cidr *allowed, size_t n);

/*
 * One cycle of a peer that wgsd added: listed (by any registry, complete or
 * not) ends its absence; a cycle in which every registry gave a complete
 * listing without it starts the absence at now_ms if none is running; other
 * cycles (a registry unreachable, truncated) change nothing. Returns true
 * when the absence has lasted remove_after_ms and this cycle itself is a
 * complete one without it (never when never is set).
 */
bool client_members_absence_step(bool *absent, uint64_t *absent_since_ms, bool listed,
				 bool all_complete, uint64_t now_ms, uint64_t remove_after_ms,
				 bool never);

#endif
