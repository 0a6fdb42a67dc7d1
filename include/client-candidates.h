/* SPDX-License-Identifier: MIT */
/*
 * Client role, candidates, pure logic (no I/O, no logging):
 *  - gathering: which of this host's addresses a section registers as its
 *    own candidates (candidates = auto | none | ADDR[:PORT], ...,
 *    candidate-exclude), plus extras other modules learn (a port mapping);
 *  - the DNS UPDATE that registers them (RFC 2136, with an RFC 9664 Update
 *    Lease option) and the reading of a peer's published candidates;
 *  - path choice: a peer's candidates in the order they are tried, and the
 *    per-peer attempt state machine (one candidate at a time, a bounded
 *    time each, what worked remembered).
 */
#ifndef WGSD_CLIENT_CANDIDATES_H
#define WGSD_CLIENT_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "addr.h"
#include "cand.h"
#include "client-answer.h"
#include "key.h"

struct config_client;

/* Most own candidates a section registers (configured ones first, then mapped, LAN, IPv6). */
#define CLIENT_CANDIDATES_OWN_MAX 8
/* Entries of one peer's ordered list: its candidates, the registry's endpoint, a relay. */
#define CLIENT_CANDIDATES_TRY_MAX (CAND_PEER_MAX + 2)
/* After every candidate failed, a peer is left on the registry's endpoint this long before a new round of tries. */
#define CLIENT_CANDIDATES_REST_MS 120000
/* Default time a candidate gets to produce a handshake: WireGuard retransmits an initiation after 5 s plus up to 1/3 s. */
#define CLIENT_CANDIDATES_DEFAULT_BUDGET_MS 6000

/* One address of this host (from netlink RTM_NEWADDR). */
struct cand_ifaddr {
	uint32_t ifindex;
	uint8_t family;               /* AF_INET or AF_INET6 */
	uint8_t prefix;
	uint8_t scope;                /* RT_SCOPE_UNIVERSE, _SITE, _LINK, _HOST */
	uint32_t flags;               /* IFA_F_* */
	uint8_t addr[16];             /* network order; 4 bytes used for AF_INET */
};

/* One section's own candidates: its configuration, the extras, and the last gathering. */
struct client_candidates {
	bool gather;                              /* candidates = auto */
	const union sockaddr_any *statics;        /* configured addresses; port 0: the listen port */
	size_t n_statics;
	const struct cidr *exclude;               /* candidate-exclude */
	size_t n_exclude;
	union sockaddr_any extra[CAND_KIND_MAX];  /* from other modules (mapped); AF_UNSPEC: none */
	struct cand_rec own[CLIENT_CANDIDATES_OWN_MAX];
	size_t n_own;
};

/* Point cc at cfg's candidate settings (cfg must outlive cc) and empty the rest. */
void client_candidates_init(struct client_candidates *cc, const struct config_client *cfg);

/*
 * The seam for other modules (port mapping): set (ep) or clear (NULL) the
 * endpoint of an extra kind, today CAND_MAPPED. It is registered with the
 * next client_candidates_update(). Returns 1 when it changed, 0 when not,
 * -EINVAL for another kind or an endpoint no one can send to.
 */
int client_candidates_set_extra(struct client_candidates *cc, enum cand_kind kind, const union sockaddr_any *ep);

/*
 * Recompute the own candidates from this host's addresses: with
 * candidates = auto, unicast addresses of interfaces other than the
 * WireGuard one (wg_ifindex) that are neither loopback, link-local,
 * tentative, deprecated nor temporary (privacy) addresses, nor inside
 * candidate-exclude, with the listen port: IPv4 and ULA (fc00::/7) as
 * "lan", other IPv6 as "v6". Configured ones are "static"; an extra keeps
 * its kind. Without a listen port only configured ones with a port and
 * extras remain. Returns 1 when the set changed, 0 when not.
 */
int client_candidates_update(struct client_candidates *cc, const struct cand_ifaddr *ifa, size_t n_ifa,
			     uint32_t wg_ifindex, uint16_t listen_port);

/* The lease a client asks for: 4 intervals, at least 2 minutes, at most an hour. */
uint32_t client_candidates_lease_s(unsigned int interval_ms);

/*
 * Write the UPDATE that replaces this key's candidates at zone with cands:
 * zone section "ZONE SOA", a delete of every RRset at B._wgcand._udp.ZONE,
 * then per candidate an SRV there and the A/AAAA of its target
 * <kind>-<n>.B.ZONE, and an OPT record with the Update Lease option (RFC
 * 9664, lease_s; 0 deregisters). The ID is left 0 (the resolver sets it).
 * Returns the length, -ENOBUFS when cap is too small, -EINVAL for a bad zone.
 */
int client_candidates_update_msg(const uint8_t key[WG_KEY_LEN], const char *zone, const struct cand_rec *cands,
				 size_t n, uint32_t lease_s, uint8_t *out, size_t cap);

/* The lease granted in an UPDATE response's OPT (RFC 9664), or 0 when it has none. */
uint32_t client_candidates_granted_lease(const ldns_pkt *pkt);

/* Write "B._wgcand._udp.ZONE" (B upper-case padded base32) into out. 0 or -ENAMETOOLONG. */
int client_candidates_qname(const uint8_t key[WG_KEY_LEN], const char *zone, char *out, size_t len);

/*
 * Read a peer's candidates from a response to "SRV client_candidates_qname()":
 * each SRV at that name whose target is <kind>-<n>.B.ZONE of the same key
 * (any letter case) and that has one A or AAAA record in the answer or
 * additional section. Malformed or foreign records are skipped. Returns how
 * many were stored in out (at most cap), -ENOENT for NXDOMAIN/NODATA,
 * -EPROTO for another rcode.
 */
int client_candidates_parse(const ldns_pkt *pkt, const uint8_t key[WG_KEY_LEN], const char *zone,
			    struct cand_rec *out, size_t cap);

/* One entry of a peer's ordered list. */
struct client_candidates_try {
	uint8_t kind;                 /* enum cand_kind */
	union sockaddr_any ep;
	const char *skip;             /* why it is not tried (static text), NULL: it is */
};

/* What this host knows of itself when it orders a peer's candidates. */
struct client_candidates_self {
	const struct cand_ifaddr *ifaddrs;        /* this host's addresses */
	size_t n_ifaddrs;
	uint32_t wg_ifindex;
	const union sockaddr_any *public_addrs;   /* this host's endpoint as the registries see it */
	size_t n_public;
	const struct client_local *local;         /* endpoint checks (NULL: none) */
};

/*
 * Order a peer's candidates: a remembered one that worked first; LAN
 * candidates when the peer's public address (observed) is one of this
 * host's and the candidate lies in a subnet of one of this host's other
 * interfaces (IPv6 ULA: the subnet alone); global IPv6 when this host has
 * one; the registry's endpoint (observed); static; mapped. Entries
 * that cannot work here carry a skip reason; duplicates of an earlier
 * endpoint are left out. Returns the number of entries written.
 */
size_t client_candidates_order(const struct client_candidates_self *self, const struct cand_rec *cands,
			       size_t n_cands, const union sockaddr_any *observed, const union sockaddr_any *remembered,
			       struct client_candidates_try *out, size_t cap);

enum client_candidates_state {
	CLIENT_CANDIDATES_IDLE = 0,   /* no round of tries */
	CLIENT_CANDIDATES_TRYING,     /* one candidate is in place, waiting for a handshake */
	CLIENT_CANDIDATES_EXHAUSTED,  /* every candidate had its time; resting on the registry's endpoint */
};

/* One peer's attempts. Zero-initialized = idle, nothing known. */
struct client_candidates_peer {
	enum client_candidates_state state;
	union sockaddr_any current;               /* the candidate in place (TRYING) */
	uint8_t current_kind;
	uint64_t current_since_ms;
	union sockaddr_any tried[CLIENT_CANDIDATES_TRY_MAX];   /* this round's, in order */
	uint8_t tried_kind[CLIENT_CANDIDATES_TRY_MAX];
	size_t n_tried;
	uint64_t round_digest;                    /* of the endpoints that may be tried */
	uint64_t exhausted_at_ms;
	bool has_worked;
	union sockaddr_any worked;                /* what produced the last handshake */
	uint8_t worked_kind;                      /* CAND_KIND_MAX: the peer's own packets (not one we set) */
	uint64_t attempts[CAND_KIND_MAX];
	uint64_t successes[CAND_KIND_MAX];
};

enum client_candidates_action {
	CLIENT_CANDIDATES_DEFAULT = 0,  /* no choice to make: write the registry's endpoint as without candidates */
	CLIENT_CANDIDATES_WAIT,         /* the candidate in place still has time: write nothing */
	CLIENT_CANDIDATES_WRITE,        /* put *write_ep in place */
};

/*
 * One step for a stale peer (the caller never steps a fresh one), given its
 * ordered list, its endpoint on the device, the monotonic time and the
 * budget of one candidate. A list whose only entry to try is the
 * registry's endpoint is DEFAULT: nothing changes for peers without
 * candidates. Otherwise a round starts (or goes on): the candidate in place
 * keeps its budget (WAIT); then the first entry to try that this round has
 * not tried yet is put in place (WRITE, or WAIT when it is already the
 * device's endpoint); when none is left the round is over (EXHAUSTED,
 * DEFAULT) until CLIENT_CANDIDATES_REST_MS passed or the list changed.
 */
enum client_candidates_action client_candidates_step(struct client_candidates_peer *st,
						     const struct client_candidates_try *order, size_t n,
						     const union sockaddr_any *device_ep, uint64_t now_ms,
						     unsigned int budget_ms, union sockaddr_any *write_ep);

/* The peer has a fresh handshake at device_ep: record what worked (kind from order) and end the round. */
void client_candidates_fresh(struct client_candidates_peer *st, const union sockaddr_any *device_ep,
			     const struct client_candidates_try *order, size_t n);

/* When the candidate in place runs out of time (monotonic ms), 0 when none is. */
uint64_t client_candidates_deadline(const struct client_candidates_peer *st, unsigned int budget_ms);

/*
 * True while the walk still has something to try for a stale peer: a
 * candidate in place with time left, or an entry other than the registry's
 * endpoint and the relay that this round has not tried (a round about to
 * start counts). False when the round is exhausted, when the candidate in
 * place had its full budget and nothing untried is left, and when there is
 * nothing to choose between (the registry's endpoint alone). The relay is
 * asked only when this is false (client-relay.h).
 */
bool client_candidates_walking(const struct client_candidates_peer *st, const struct client_candidates_try *order,
			       size_t n, uint64_t now_ms, unsigned int budget_ms);

/*
 * Digest of the entries that may be tried (kind and endpoint) and of this
 * host's public endpoints as the registries see them (self_pub): it changes
 * with the list and with a NAT that maps differently on this side. Never 0.
 */
uint64_t client_candidates_digest(const struct client_candidates_try *order, size_t n,
				  const union sockaddr_any *self_pub, size_t n_pub);

/*
 * A direct endpoint to try for a relayed peer: of the entries that may be
 * tried, other than a relay, in the order mapped, the registry's endpoint,
 * static, IPv6, LAN (a port mapping is made to be reached; the registry's
 * endpoint works once a NAT maps independently of the destination), the
 * (turn % count)-th, so that successive tries go round them. True with
 * *out, false when there is none.
 */
bool client_candidates_pick_direct(const struct client_candidates_try *order, size_t n, unsigned int turn,
				   union sockaddr_any *out);

/* What became of an entry of the list in this round: "skipped", "trying", "failed", "untried", "worked". */
const char *client_candidates_entry_state(const struct client_candidates_peer *st,
					  const struct client_candidates_try *t);

/* "idle", "trying", "exhausted". */
const char *client_candidates_state_name(enum client_candidates_state s);

#endif
