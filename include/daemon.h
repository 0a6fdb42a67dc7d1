/* SPDX-License-Identifier: MIT */
/* The daemon: one libevent loop, the configuration, the roles, signals, reload, the status socket. */
#ifndef WGSD_DAEMON_H
#define WGSD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "strbuf.h"

struct event;
struct event_base;
struct config;
struct control;
struct registry;
struct client;
struct wg_ctx;

struct daemon {
	struct event_base *base;
	struct wg_ctx *wg;
	struct config *cfg;
	char *config_path;
	bool debug;                   /* -d: debug level regardless of the file */
	struct registry *registry;    /* NULL when the role is off */
	struct client *client;        /* NULL when there are no [client] sections */
	struct control *control;
	struct event *ev_hup, *ev_term, *ev_int, *ev_watchdog;
	struct event *ev_hold;     /* the longest the client's first cycle waits for the local registry */
	uint64_t started_ms;          /* clock_monotonic_ms() */
	time_t started_wall;
	/* last reload */
	unsigned long reloads_ok, reloads_failed;
	time_t last_reload_wall;      /* 0: never reloaded */
	bool last_reload_ok;
	struct strbuf last_reload_error;
	int exit_code;
};

/* Load the configuration, bind every socket and start the roles. 0 or -1 (logged). */
int daemon_init(struct daemon *d, const char *config_path, bool debug);
/* Run the loop until SIGTERM/SIGINT. Returns the exit code. */
int daemon_run(struct daemon *d);
/* Release everything (removes the status socket). */
void daemon_free(struct daemon *d);
/* Re-read the configuration and apply it by difference; on error the running one stays. 0 or -1, reason in err. */
int daemon_reload(struct daemon *d, struct strbuf *err);

#endif
