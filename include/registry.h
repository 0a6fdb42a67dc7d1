/* SPDX-License-Identifier: MIT */
/*
 * Registry role, event-loop glue: DNS listeners (UDP and TCP), one refresh
 * timer per zone that reads its WireGuard device into a snapshot, and the
 * counters shown in status. Answers themselves come from dns-answer.c.
 */
#ifndef WGSD_REGISTRY_H
#define WGSD_REGISTRY_H

struct event_base;
struct wg_ctx;
struct config;
struct strbuf;
struct registry;

/* Create the registry for cfg (cfg->registry.enabled must be true): bind every listener, start zone timers.
 * Returns 0 or -errno with a message in err (e.g. "listen 0.0.0.0:53: Address in use"). */
int registry_new(struct event_base *base, struct wg_ctx *wg, const struct config *cfg,
		 struct registry **out, struct strbuf *err);
/* Apply a new configuration by difference: listeners that stay keep their sockets, zones are added,
 * removed or restarted when changed. A listener that goes away is closed before a new one on its family
 * and port is bound (wildcard to specific address and back). On failure nothing changes (such a listener
 * is bound again; only if its address was taken meanwhile is it dropped, with a warning), returns -errno
 * with a message in err. The registry keeps no pointer into cfg after the call returns. */
int registry_apply(struct registry *reg, const struct config *cfg, struct strbuf *err);
/* Call cb once, from the loop, when every zone has its first snapshot or has failed its first read
 * (NULL cancels). */
void registry_set_loaded_cb(struct registry *reg, void (*cb)(void *arg), void *arg);
/* Close everything and free. */
void registry_free(struct registry *reg);
/* Append the registry's status as one JSON object. */
void registry_status_json(const struct registry *reg, struct strbuf *out);
/* Append Prometheus text-format metrics (wgsd_registry_*, wgsd_zone_*). */
void registry_metrics(const struct registry *reg, struct strbuf *out);

#endif
