/* SPDX-License-Identifier: MIT */
/*
 * UPnP IGD client: miniupnpc's discovery and SOAP calls block for seconds,
 * so they run on a worker thread of their own that posts each result back
 * to the loop through an eventfd. The worker touches nothing of the
 * daemon's: it works on copies of the requests and fills a result slot.
 * Never logs.
 */
#ifndef WGSD_PORTMAP_UPNP_H
#define WGSD_PORTMAP_UPNP_H

#include "portmap.h"

struct UPNPDev;

/* How long SSDP discovery waits for routers to answer. */
#define PORTMAP_UPNP_DISCOVER_MS 2000

struct portmap_upnp;

/* Create a client; its worker starts with the first request. NULL on ENOMEM. */
struct portmap_upnp *portmap_upnp_new(struct event_base *base, portmap_result_cb cb, void *arg);
/*
 * Queue a create or renew (replacing a queued one): discovery when no IGD
 * is known yet or the gateway changed, AddPortMapping, GetExternalIPAddress
 * and GetStatusInfo. 0, or -errno without callback. req->timeout_ms is not
 * used: miniupnpc's own time limits bound each call.
 */
int portmap_upnp_map(struct portmap_upnp *u, const struct portmap_req *req);
/* Drop the request in flight: its result is discarded, a queued one not started. */
void portmap_upnp_cancel(struct portmap_upnp *u);
/* Queue the deletion of the mapping the worker made, done before any later request (not waited for); cancels as above. */
void portmap_upnp_delete(struct portmap_upnp *u);
/* Free the loop side (NULL is fine). A worker still busy (a deletion) finishes, then frees its side. */
void portmap_upnp_free(struct portmap_upnp *u);
/*
 * Reorder a discovery's device list so that the devices whose description
 * URL is on the gateway's address come first, in their order, then the
 * others (UPNP_GetValidIGD() takes the first usable one). Returns the head.
 */
struct UPNPDev *portmap_upnp_gateway_first(struct UPNPDev *list, const uint8_t gw[4]);
/* Wait at most timeout_ms until every worker has exited (at shutdown). */
void portmap_upnp_wait_all(unsigned int timeout_ms);

#endif
