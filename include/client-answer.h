/* SPDX-License-Identifier: MIT */
/*
 * Client role, pure logic: which peers to resolve, the name to ask for,
 * what a registry's answer says, and which of several answers to use.
 * No I/O, no logging.
 *
 * Both record layouts of the original CoreDNS wgsd plugin are accepted:
 * the SRV of B._wireguard._udp.ZONE points at B.ZONE or at
 * B._wireguard._udp.ZONE (B = base32 of the key, any letter case, padded
 * or not), with the target's A/AAAA in the additional section or absent
 * (then the caller asks for them and adds them with client_answer_add_addrs).
 */
#ifndef WGSD_CLIENT_ANSWER_H
#define WGSD_CLIENT_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "addr.h"
#include "config.h"
#include "key.h"
#include "wg.h"

#define CLIENT_ANSWER_MAX_ADDRS 8

enum client_answer_status {
	CLIENT_ANSWER_NONE = 0,    /* no answer (yet): timeout or transport error */
	CLIENT_ANSWER_OK,          /* SRV found: port and target (and maybe addresses) */
	CLIENT_ANSWER_NXDOMAIN,    /* the registry does not know the peer now */
	CLIENT_ANSWER_NODATA,      /* NOERROR without an SRV for the name */
	CLIENT_ANSWER_RCODE,       /* another rcode (SERVFAIL, REFUSED, ...) */
	CLIENT_ANSWER_BAD,         /* inconsistent: target outside both layouts, port 0, foreign key */
};

struct client_answer {
	enum client_answer_status status;
	uint8_t rcode;                                   /* as received */
	uint16_t port;                                   /* SRV port */
	char target[DNAME_STRLEN];                       /* SRV target, lower case, absolute */
	union sockaddr_any addrs[CLIENT_ANSWER_MAX_ADDRS]; /* target's addresses, port = SRV port */
	size_t n_addrs;
	bool has_seen;                                   /* TXT "seen=" was present */
	uint64_t seen;                                   /* seconds since the peer's last handshake at the registry */
};

/* Write "B._wireguard._udp.ZONE" (B upper-case padded base32) into out. 0 or -ENAMETOOLONG. */
int client_answer_qname(const uint8_t key[WG_KEY_LEN], const char *zone, char *out, size_t len);

/* Interpret a response to "SRV client_answer_qname(key, zone)". Always fills out (status says how it went). */
void client_answer_parse_srv(const ldns_pkt *pkt, const uint8_t key[WG_KEY_LEN], const char *zone,
			     struct client_answer *out);

/* Add the A/AAAA records owned by ans->target from a response (answer and additional sections).
 * Returns how many were added, or -EBADMSG when the rcode is not NOERROR. */
int client_answer_add_addrs(const ldns_pkt *pkt, struct client_answer *ans);

/* Short name of a status: "none", "ok", "nxdomain", "nodata", "rcode", "bad". */
const char *client_answer_status_name(enum client_answer_status s);

struct client_choice {
	int index;                    /* answer chosen, -1 when none has an address */
	union sockaddr_any endpoint;  /* address and port to set */
	bool nat_symmetric;           /* registries saw different ports: endpoint-dependent NAT */
};

/*
 * Choose among the answers of several registries (NULL entries allowed):
 * usable answers are OK with at least one address; the smallest seen wins,
 * answers without seen rank last, ties go to the lower index, and the
 * first address of the winner is used. But the current endpoint is kept
 * when any usable answer still reports it, so that registries that disagree
 * (symmetric NAT) do not make the endpoint flap.
 */
void client_answer_choose(const struct client_answer *const *answers, size_t n,
			  const union sockaddr_any *current, struct client_choice *out);

/*
 * What an answered endpoint is checked against before it is written: the
 * device reading (its listen port, every peer's allowed IPs) and this
 * host's own addresses. An endpoint that would reach this host itself or
 * be routed into the tunnel (a loop) is as useless as a loopback one.
 */
struct client_local {
	const struct wg_device *dev;      /* NULL: no device facts */
	const struct cidr *addrs;         /* this host's addresses, full-length prefixes */
	size_t n_addrs;
	const struct cidr *dev_nets;      /* the WireGuard interface's own networks (address/prefix) */
	size_t n_dev_nets;
};

/* Why ep cannot be a peer's endpoint here, as a short text, or NULL when it can. */
const char *client_answer_endpoint_problem(const union sockaddr_any *ep, const struct client_local *l);

/* Remove from ans the addresses that client_answer_endpoint_problem() rejects.
 * Returns how many were removed; *why (may be NULL) gets the first reason. */
size_t client_answer_filter(struct client_answer *ans, const struct client_local *l, const char **why);

enum client_peer_class {
	CLIENT_PEER_CANDIDATE = 0,    /* stale or never handshaked: resolve it */
	CLIENT_PEER_FRESH,            /* working tunnel: never disturbed */
	CLIENT_PEER_EXCLUDED,         /* listed in exclude */
	CLIENT_PEER_REGISTRY,         /* allowed IPs contain a registry address */
};

/* Short name: "candidate", "fresh", "excluded", "registry". */
const char *client_peer_class_name(enum client_peer_class c);

/* Classify a peer at wall-clock time now_sec; exclude holds n_exclude keys back to back. */
enum client_peer_class client_answer_classify(const struct wg_peer *peer, int64_t now_sec,
					      unsigned int handshake_timeout_ms,
					      const uint8_t *exclude, size_t n_exclude,
					      const union sockaddr_any *registries, size_t n_registries);

#endif
