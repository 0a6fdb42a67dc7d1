/* SPDX-License-Identifier: MIT */
/*
 * Client role, event-loop glue: for each [client DEV] section a jittered
 * timer reads the device, asks the registries where stale peers are now,
 * and sets their endpoints.
 */
#ifndef WGSD_CLIENT_H
#define WGSD_CLIENT_H

struct event_base;
struct wg_ctx;
struct config;
struct strbuf;
struct client;

/* Create the client role for every [client] section of cfg (there may be none). 0 or -errno with message in err. */
int client_new(struct event_base *base, struct wg_ctx *wg, const struct config *cfg,
	       struct client **out, struct strbuf *err);
/* Apply a new configuration by difference (sections added, removed, or restarted when changed).
 * The client keeps no pointer into cfg after the call returns. */
int client_apply(struct client *c, const struct config *cfg, struct strbuf *err);
/* Hold the first cycle of every section until client_release() (a local registry still loading). */
void client_hold(struct client *c);
/* Start held first cycles now. */
void client_release(struct client *c);
/* Stop every timer and query and free. */
void client_free(struct client *c);
/* Append the client's status as one JSON object. */
void client_status_json(const struct client *c, struct strbuf *out);
/* Append Prometheus text-format metrics (wgsd_client_*). */
void client_metrics(const struct client *c, struct strbuf *out);

#endif
