/* SPDX-License-Identifier: MIT */
/*
 * Event-loop glue around gateway.c: one rtnetlink socket subscribed to IPv4
 * route changes; the default gateway is read at start and again after any
 * change of a default route (or lost notifications).
 */
#ifndef WGSD_GATEWAY_WATCH_H
#define WGSD_GATEWAY_WATCH_H

#include "gateway.h"

struct event_base;
struct gateway_watch;

/* The default gateway changed (gw NULL: there is none), or reading it failed (err < 0, gw: the last known). */
typedef void (*gateway_watch_cb)(const struct gateway *gw, int err, void *arg);

/* Open the socket and start the first reading. 0 or -errno. */
int gateway_watch_new(struct event_base *base, gateway_watch_cb cb, void *arg, struct gateway_watch **out);
/* Close and free (NULL is fine). */
void gateway_watch_free(struct gateway_watch *w);
/* The current default gateway, NULL when none is known; *err is the last reading's error (0 ok). */
const struct gateway *gateway_watch_get(const struct gateway_watch *w, int *err);

#endif
