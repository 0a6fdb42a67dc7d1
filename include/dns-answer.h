/* SPDX-License-Identifier: MIT */
/*
 * Answer one DNS query from the zone snapshots: query bytes in, response
 * bytes out into the caller's buffer. No allocation, no system calls.
 *
 * Owner names are compression pointers into the copied question, so the
 * query's letter case comes back unchanged; PTR targets carry the base32
 * label in upper case followed by a pointer to the queried zone name. The
 * SRV target B.Z is written in full, never compressed (RFC 2782, RFC 3597).
 *
 * TXT of B._wireguard._udp.Z: "txtvers=1" "pub=<base64>" "allowed=<cidr>,..."
 * and "seen=<seconds since the last handshake>". A peer that never completed
 * a handshake has no "seen=" string (absent = never); the device itself
 * (`self`) says "seen=0". Allowed IPs longer than one 255-byte string
 * continue in "allowed2=", "allowed3=", ... (one key per string: RFC 6763
 * 6.4 reads only the first string of a key); client_members_allowed() joins them.
 *
 * A name without records that has names below it (_udp.Z while peers are
 * published, the parent of an in-zone NS name with glue, a name above
 * another served zone) is NODATA; NXDOMAIN means nothing below (RFC 8020).
 * With nothing published, _wireguard._udp.Z and _udp.Z do not exist.
 *
 * self = auto: SRV, A and AAAA only when the query arrived on an address
 * other hosts can send to (not over loopback, not to a link-local address).
 *
 * Relay (with [relay]): "SRV <peer>.<self>._relay.Z" (labels as B above)
 * asks for a relay between the asker, whose key is <self>, and <peer>. It
 * is answered only to <self> itself: the query must arrive on the zone's
 * interface from an address whose longest allowed-IP match on the device is
 * <self>'s (as WireGuard accepts that source only from <self>), whatever
 * `access` says; else REFUSED. A <peer> that is not published (or is <self>
 * or the device itself) is NXDOMAIN. The answer is "SRV 0 0 <port> _relay.Z."
 * with the relay's A/AAAA (owned by _relay.Z) in the additional section:
 * the address and port <self> sends to. Allocation failures are SERVFAIL.
 * "_relay.Z" answers A/AAAA with the relay's addresses; "<key>._relay.Z"
 * is an empty non-terminal. Without a relay, none of these names exist.
 *
 * ANY (RFC 8482): one RRset: SOA at the apex, SRV (with its additional
 * records) at a service instance, the address at B.Z, and a synthesized
 * HINFO "RFC8482" "" at _wireguard._udp.Z instead of the whole PTR listing.
 */
#ifndef WGSD_DNS_ANSWER_H
#define WGSD_DNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "dns-query.h"
#include "key.h"

struct zone;

/* The relay, when the registry has one: its addresses and how to allocate. */
struct dns_relay {
	const uint8_t (*addr4)[4];
	size_t n_addr4;
	const uint8_t (*addr6)[16];
	size_t n_addr6;
	/* Allocate (or refresh) the pair's relay; *port is the one `self` sends to. 0, or -errno (SERVFAIL). */
	int (*allocate)(void *arg, const uint8_t self[WG_KEY_LEN], const uint8_t peer[WG_KEY_LEN], uint16_t *port);
	void *arg;
};

/* What answers depend on besides the query: the zones and registry settings. */
struct dns_answer_env {
	struct zone *const *zones;
	size_t n_zones;
	enum access_mode access;
	const struct cidr *access_cidrs;
	size_t n_access_cidrs;
	uint32_t ttl;
	uint16_t edns_size;          /* our UDP payload size with EDNS (512..4096) */
	time_t now;                  /* wall clock, for "seen=" */
	const struct dns_relay *relay;     /* NULL: no relay */
};

/* Where a query came from. */
struct dns_client {
	const union sockaddr_any *src;
	const union sockaddr_any *local;   /* address it arrived on (NULL/AF_UNSPEC: unknown) */
	uint32_t ifindex;                  /* arrival interface (0: unknown) */
	bool tcp;                          /* TCP: 65535-byte answers */
	bool trusted;                      /* a secondary of the queried zone (allow-transfer): access does not apply */
};

/* What a relay query came to. */
enum dns_relay_result {
	DNS_RELAY_NONE = 0,     /* not a relay query (or not for SRV) */
	DNS_RELAY_GRANTED,
	DNS_RELAY_REFUSED,      /* the asker is not <self> */
	DNS_RELAY_UNKNOWN,      /* <peer> is not published */
	DNS_RELAY_FAILED,       /* no allocation could be made */
};

/* How a query was answered, for counters and logs. */
struct dns_answer_info {
	enum dns_query_verdict verdict;
	uint16_t qtype;                    /* 0 when the question could not be read */
	uint16_t rcode;                    /* extended (BADVERS = 16) */
	bool refused_access;               /* REFUSED by the access rule */
	bool truncated;                    /* TC=1 */
	int zone;                          /* index into env->zones, -1 if none */
	enum dns_relay_result relay;
};

/*
 * Answer query (qlen bytes) into out (cap bytes). Returns the response length,
 * or 0 when nothing must be sent (DROP verdict, or cap too small for a header).
 *
 * access = peers requires the source inside some peer's allowed IPs and
 * arrival on the zone's WireGuard interface, on both transports: UDP gives
 * the interface per datagram, TCP the one its handshake arrived on
 * (registry-tcp.c). The source alone is not enough even over TCP: a peer
 * whose allowed IPs hold 127.0.0.0/8 would make loopback clients members.
 */
size_t dns_answer(const struct dns_answer_env *env, const struct dns_client *cl,
		  const uint8_t *query, size_t qlen, uint8_t *out, size_t cap,
		  struct dns_answer_info *info);

#endif
