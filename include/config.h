/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the INI file parsed with inih into plain structs.
 * Parsing never logs; errors come back as "FILE:LINE: [section] key: what is wrong".
 * A reload parses into a fresh struct config and swaps it in only on success.
 */
#ifndef WGSD_CONFIG_H
#define WGSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/un.h>

#include "addr.h"
#include "key.h"
#include "log.h"
#include "wg.h"

struct strbuf;

/* Longest presentation form of a domain name, with the trailing dot. */
#define DNAME_STRLEN 256
#define STATUS_SOCKET_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

#define DEFAULT_TTL 0
#define DEFAULT_EDNS_SIZE 1232
#define DEFAULT_TCP_MAX_CONNS 256
#define DEFAULT_TCP_IDLE_TIMEOUT_MS 10000
#define DEFAULT_REFRESH_MS 1000
#define MIN_REFRESH_MS 100
#define DEFAULT_INTERVAL_MS 10000
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 135000
#define DEFAULT_QUERY_TIMEOUT_MS 2000
#define DEFAULT_MAX_INFLIGHT 256
#define DEFAULT_CAND_PER_PEER 8
#define DEFAULT_CAND_MAX 4096
#define DEFAULT_CAND_LEASE_MAX_MS 3600000
#define DEFAULT_CAND_TIMEOUT_MS 6000
#define DEFAULT_RELAY_PORT_MIN 50000
#define DEFAULT_RELAY_PORT_MAX 50999
#define DEFAULT_RELAY_MAX_ALLOCS 128
#define DEFAULT_RELAY_IDLE_TIMEOUT_MS 180000
#define DEFAULT_RELAY_AFTER_MS 30000
#define DEFAULT_RELAY_RETRY_MS 300000
#define DEFAULT_AUTO_MAX_PEERS 1000
#define DEFAULT_AUTO_REMOVE_AFTER_MS 600000
#define MAX_AUTO_MAX_PEERS 100000
#define STATE_DIR_MAX 256

/* Which peers a [client] section works on. */
enum peers_mode {
	PEERS_EXISTING = 0,  /* only endpoints of peers already on the device */
	PEERS_AUTO,          /* also add the registries' listed peers, remove those it added when unlisted */
};
#define DEFAULT_PORT_MAPPING_LIFETIME_MS 7200000   /* 2 h, as routers commonly grant */
/* SOA timers: secondaries hear of changes by NOTIFY; refresh only catches a NOTIFY they missed. */
#define DEFAULT_SOA_REFRESH_S 30
#define DEFAULT_SOA_RETRY_S 5
#define DEFAULT_SOA_EXPIRE_S 604800
#define DEFAULT_IXFR_HISTORY 600
#define TSIG_SECRET_B64_MAX 700           /* base64 of at most 512 bytes */

enum access_mode {
	ACCESS_PEERS = 0,  /* only queries arriving on the zone's device from a peer's allowed IPs */
	ACCESS_ANY,
	ACCESS_CIDR,       /* only sources inside access_cidrs */
};

enum self_mode {
	SELF_NONE = 0,
	SELF_FIXED,        /* publish self_endpoint */
	SELF_AUTO,         /* address the query arrived on + the device's listen port */
};

/* Port mapping of a client device's listen port on the local router ("port-mapping"). */
enum portmap_mode {
	PORTMAP_OFF = 0,
	PORTMAP_AUTO,      /* PCP, then NAT-PMP, then UPnP IGD: the first that works */
	PORTMAP_PCP,
	PORTMAP_NATPMP,
	PORTMAP_UPNP,
};

struct config_registry {
	bool enabled;                     /* a [registry] section was present */
	union sockaddr_any *listens;      /* "listen", repeatable; default 0.0.0.0:53 and [::]:53 */
	size_t n_listens;
	bool listens_default;             /* no "listen" given: the defaults, the IPv6 one optional */
	enum access_mode access;
	struct cidr *access_cidrs;
	size_t n_access_cidrs;
	uint32_t ttl;
	uint16_t edns_size;               /* "edns-size": largest UDP answer with EDNS, 512..4096 */
	unsigned int tcp_max_conns;       /* "tcp-max-connections" */
	unsigned int tcp_idle_timeout_ms; /* "tcp-idle-timeout" */
	unsigned int cand_per_peer;       /* "candidates-per-peer": 0 refuses registrations */
	unsigned int cand_max;            /* "candidates-max": per zone */
	unsigned int cand_lease_max_ms;   /* "candidate-lease-max" */
};

/* [relay]: the registry forwards WireGuard packets between pairs of peers that cannot reach each other. */
struct config_relay {
	bool enabled;                     /* a [relay] section was present */
	union sockaddr_any addrs[2];      /* "address": at most one IPv4 and one IPv6 (port 0), bound and published */
	size_t n_addrs;
	uint16_t port_min, port_max;      /* "ports": UDP range, two ports per allocation */
	unsigned int max_allocs;          /* "max-allocations" */
	unsigned int idle_timeout_ms;     /* "idle-timeout" */
	uint64_t rate_bps;                /* "rate-limit": bytes per second per allocation, 0 = none */
};

/* A TSIG key ([key NAME]): hmac-sha256 with a base64 secret. */
struct config_key {
	char name[DNAME_STRLEN];          /* lower case, absolute */
	char secret[TSIG_SECRET_B64_MAX + 1]; /* base64, as written */
};

/* One "allow-transfer" line: who may transfer the zone (and query its apex). */
struct config_xfr_acl {
	bool any;                         /* "any": every address (then a key is required) */
	struct cidr prefix;               /* when !any */
	char key[DNAME_STRLEN];           /* TSIG key required, "" = none */
};

/* One "notify" line: a secondary told of every new serial. */
struct config_notify {
	union sockaddr_any addr;          /* port defaults to 53 */
	char key[DNAME_STRLEN];           /* TSIG key to sign with, "" = none */
};

struct config_zone {
	char name[DNAME_STRLEN];          /* lower case, absolute: "example.com." */
	char device[IFNAMSIZ];
	enum wg_backend backend;
	enum self_mode self;
	union sockaddr_any self_endpoint; /* SELF_FIXED only */
	struct cidr *self_allowed_ips;
	size_t n_self_allowed_ips;
	char ns[DNAME_STRLEN];            /* "ns"; default "ns1.<zone>" */
	union sockaddr_any *ns_addrs;     /* "ns-address", repeatable: glue A/AAAA for ns (port unused) */
	size_t n_ns_addrs;
	unsigned int refresh_ms;          /* "refresh", default 1s, at least 100ms */
	uint32_t soa_refresh_s;           /* "soa-refresh", "soa-retry", "soa-expire": SOA timers */
	uint32_t soa_retry_s;
	uint32_t soa_expire_s;
	struct config_xfr_acl *allow_transfer; /* "allow-transfer", repeatable */
	size_t n_allow_transfer;
	struct config_notify *notify;     /* "notify", repeatable */
	size_t n_notify;
	bool peer_transfers;              /* "peer-transfers": mesh members may transfer the zone */
	unsigned int ixfr_history;        /* "ixfr-history": serials kept for IXFR, 0 = AXFR only */
};

struct config_client {
	char device[IFNAMSIZ];
	enum wg_backend backend;
	union sockaddr_any *registries;   /* "registry", repeatable; port defaults to 53 */
	size_t n_registries;
	char zone[DNAME_STRLEN];          /* lower case, absolute */
	unsigned int interval_ms;
	unsigned int handshake_timeout_ms;
	unsigned int timeout_ms;          /* "timeout": one DNS query */
	int keepalive;                    /* 0 = do not set */
	uint8_t (*exclude)[WG_KEY_LEN];
	size_t n_exclude;
	unsigned int max_inflight;        /* "max-inflight": DNS queries in flight per section */
	bool cand_none;                   /* "candidates = none": register no own candidate (not auto) */
	union sockaddr_any *cand_statics; /* "candidates = ADDR[:PORT], ...": port 0 = the listen port */
	size_t n_cand_statics;
	struct cidr *cand_exclude;        /* "candidate-exclude", repeatable */
	size_t n_cand_exclude;
	unsigned int cand_timeout_ms;     /* "candidate-timeout": one candidate's time for a handshake */
	bool relay;                       /* "relay = auto": ask the registry for a relay for stuck peers */
	unsigned int relay_after_ms;      /* "relay-after": stale this long after a direct endpoint was set */
	unsigned int relay_retry_ms;      /* "relay-retry": a relayed peer's first direct try (then doubled, up to 8x) */
	enum peers_mode peers;            /* "peers" */
	struct cidr *auto_allowed;        /* "auto-allowed-ips", repeatable lists; required with auto */
	size_t n_auto_allowed;
	unsigned int auto_max_peers;      /* "auto-max-peers" */
	unsigned int auto_remove_after_ms; /* "auto-remove-after" */
	bool auto_remove_never;           /* "auto-remove-after = never" */
	enum portmap_mode port_mapping;   /* "port-mapping", default off */
	unsigned int port_mapping_lifetime_ms;  /* "port-mapping-lifetime": requested lifetime */
};

struct config {
	char *path;                       /* file it came from (NULL for a string) */
	enum log_level log_level;
	char status_socket[STATUS_SOCKET_MAX];
	char state_directory[STATE_DIR_MAX];  /* "state-directory": where peers = auto remembers its peers */
	struct config_registry registry;
	struct config_relay relay;
	struct config_zone *zones;
	size_t n_zones;
	struct config_key *keys;          /* [key NAME] sections */
	size_t n_keys;
	struct config_client *clients;
	size_t n_clients;
};

/* Parse path into a fresh config. On failure returns -EINVAL (or -errno for I/O) and writes the reason to err. */
int config_load(const char *path, struct config **out, struct strbuf *err);
/* Parse text (name is used in messages as the file name). */
int config_load_string(const char *text, const char *name, struct config **out, struct strbuf *err);
/* Free a config (NULL is fine). */
void config_free(struct config *cfg);
/* What config_print() writes in place of a TSIG secret. */
#define CONFIG_SECRET_HIDDEN "(hidden)"
/*
 * Write the normalized configuration, every key with its effective value, in
 * INI form; TSIG secrets as CONFIG_SECRET_HIDDEN (so a [key] section does not
 * parse back until its secret is filled in).
 */
void config_print(const struct config *cfg, struct strbuf *out);
/* Parse a duration: "10", "250ms", "10s", "2m", "1h" (bare number = seconds). 0 or -EINVAL. */
int config_parse_duration_ms(const char *text, unsigned int *out_ms);

/* "off", "auto", "pcp", "natpmp" or "upnp". */
const char *config_portmap_mode_name(enum portmap_mode m);
/* Parse a port-mapping mode; 0 or -EINVAL. */
int config_portmap_mode_parse(const char *text, enum portmap_mode *out);

/* Find a zone, key or client section by name/device; NULL if absent. */
const struct config_zone *config_find_zone(const struct config *cfg, const char *name);
const struct config_key *config_find_key(const struct config *cfg, const char *name);
const struct config_client *config_find_client(const struct config *cfg, const char *device);
/* True when two sections have identical settings. */
bool config_zone_equal(const struct config_zone *a, const struct config_zone *b);
bool config_client_equal(const struct config_client *a, const struct config_client *b);
bool config_relay_equal(const struct config_relay *a, const struct config_relay *b);
/* Deep-copy a section (its arrays duplicated). 0, or -ENOMEM with dst holding nothing to clear. */
int config_zone_copy(struct config_zone *dst, const struct config_zone *src);
int config_client_copy(struct config_client *dst, const struct config_client *src);
/* Free a section's arrays (from a copy or a parsed config) and empty them. */
void config_zone_clear(struct config_zone *z);
void config_client_clear(struct config_client *c);

#endif
