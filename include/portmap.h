/* SPDX-License-Identifier: MIT */
/*
 * Port mapping, event-loop glue: for each [client DEV] with port-mapping
 * set, ask the IPv4 default gateway to forward a public UDP port to the
 * device's listen port (PCP, NAT-PMP or UPnP IGD), keep it renewed, follow
 * router restarts, default-route and listen-port changes, and delete it
 * when the section goes. The protocol drivers (portmap-pcp-client.c,
 * portmap-natpmp.c, portmap-upnp.c) share the request and result types
 * below; each ends an exchange in exactly one callback and never logs.
 */
#ifndef WGSD_PORTMAP_H
#define WGSD_PORTMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"

struct event_base;
struct strbuf;

/* Time one create or renew exchange may take before the protocol counts as failed. */
#define PORTMAP_REQUEST_TIMEOUT_MS 3000
/* The first retransmission of a PCP or NAT-PMP request (doubling after; RFC 6886 3.1). */
#define PORTMAP_FIRST_RTO_MS 250

/* What a protocol driver is asked to create or renew. */
struct portmap_req {
	uint8_t gateway[4];            /* the router, IPv4 network order */
	uint16_t internal_port;        /* the WireGuard listen port */
	uint16_t external_port;        /* preferred public port (the current one on renewal) */
	uint32_t lifetime_s;           /* > 0 */
	unsigned int timeout_ms;       /* give up after this long */
	char desc[32];                 /* UPnP mapping description ("wgsd wg0") */
};

/* The outcome of one exchange. */
struct portmap_result {
	int err;                       /* 0: mapped; -errno otherwise (detail says more) */
	char detail[160];              /* why it failed, for status and logs */
	union sockaddr_any internal;   /* this host's LAN address and the listen port */
	union sockaddr_any external;   /* the router's public address and the mapped port */
	uint32_t lifetime_s;           /* granted; 0 for a UPnP mapping without lease */
	bool has_epoch;
	uint32_t epoch_s;              /* PCP/NAT-PMP epoch time, UPnP connection uptime */
	char server[ADDR_STRLEN];      /* who answered: the gateway, or the UPnP IGD's host:port */
};

/* The end of one exchange (never called from inside the call that started it). */
typedef void (*portmap_result_cb)(const struct portmap_result *r, void *arg);

/* The mapped public endpoint of a device changed: external is NULL when there is none any more. */
typedef void (*portmap_change_cb)(const union sockaddr_any *external, void *arg);

/* Port mapping of the client role: the routing-table watch and every device's mapping. */
struct portmap_ctx;
/* One [client DEV]'s hold on its device's mapping. */
struct portmap;

/* Create the context on base (nothing is opened before the first portmap_new). NULL on ENOMEM. */
struct portmap_ctx *portmap_ctx_new(struct event_base *base);
/* Free the context; every portmap must have been freed. */
void portmap_ctx_free(struct portmap_ctx *ctx);
/*
 * Start mapping device's listen port with mode (not PORTMAP_OFF). A section
 * restarted by a reload creates its new portmap before freeing the old one:
 * both then hold the same mapping, which stays in place, and cb of the
 * newest holder is the one called. NULL on ENOMEM.
 */
struct portmap *portmap_new(struct portmap_ctx *ctx, const char *device, enum portmap_mode mode,
			    uint32_t lifetime_s, portmap_change_cb cb, void *arg);
/* Release a hold; the last one deletes the mapping on the router. NULL is fine. */
void portmap_free(struct portmap *pm);
/* The device's listen port from its latest reading (0: none); a change re-creates the mapping. */
void portmap_set_listen_port(struct portmap *pm, uint16_t port);
/* The mapped public endpoint; false when there is none. */
bool portmap_external(const struct portmap *pm, union sockaddr_any *out);
/* Append the device's port-mapping status as a JSON object ({"mode":"off"} for NULL). */
void portmap_status_json(const struct portmap *pm, struct strbuf *out);
/* Append Prometheus metrics of every device (wgsd_client_portmap_*). */
void portmap_metrics(const struct portmap_ctx *ctx, struct strbuf *out);
/*
 * At exit, after the last portmap_free: wait at most timeout_ms for UPnP
 * workers still deleting mappings (their SOAP calls block, so they run on
 * threads that outlive their portmap).
 */
void portmap_shutdown_wait(unsigned int timeout_ms);

#endif
