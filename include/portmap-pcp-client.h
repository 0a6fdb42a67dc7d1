/* SPDX-License-Identifier: MIT */
/*
 * PCP client on the event loop: one UDP socket connected to the gateway's
 * port 5351, a MAP request retransmitted until answered or timed out
 * (portmap-pcp.c does the wire format). Never logs.
 */
#ifndef WGSD_PORTMAP_PCP_CLIENT_H
#define WGSD_PORTMAP_PCP_CLIENT_H

#include "portmap.h"

struct portmap_pcp_client;

/* Create a client; its nonce is random and kept for all its requests. NULL on ENOMEM. */
struct portmap_pcp_client *portmap_pcp_client_new(struct event_base *base, portmap_result_cb cb, void *arg);
/* Start creating or renewing a mapping (an exchange in flight is dropped). 0, or -errno without callback. */
int portmap_pcp_client_map(struct portmap_pcp_client *c, const struct portmap_req *req);
/* Drop the exchange in flight; its callback is not called. */
void portmap_pcp_client_cancel(struct portmap_pcp_client *c);
/* Delete the last mapping made (one request with lifetime 0, not waited for); cancels as above. */
void portmap_pcp_client_delete(struct portmap_pcp_client *c);
/* Free (NULL is fine); does not delete. */
void portmap_pcp_client_free(struct portmap_pcp_client *c);

#endif
