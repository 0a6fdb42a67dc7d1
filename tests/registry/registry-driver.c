/* SPDX-License-Identifier: MIT */
/*
 * Test driver for the registry glue without the daemon around it:
 *   registry-driver CONFIG [STATUS_FILE]
 * runs the [registry] and [zone] sections of CONFIG on one event loop.
 * SIGUSR1 writes registry_status_json() (and metrics after a blank line) to
 * STATUS_FILE (default: stdout); SIGHUP reloads CONFIG with registry_apply();
 * SIGTERM/SIGINT stop it. Prints "ready" on stdout once the sockets are bound.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "registry.h"
#include "strbuf.h"
#include "wg.h"

struct driver {
	struct event_base *base;
	struct registry *reg;
	const char *config;
	const char *status_file;
};

/* SIGUSR1: write status and metrics. */
static void usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct driver *d = arg;
	struct strbuf sb = STRBUF_INIT;
	FILE *f = stdout;

	registry_status_json(d->reg, &sb);
	strbuf_puts(&sb, "\n\n");
	registry_metrics(d->reg, &sb);
	if (d->status_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", d->status_file);
		f = fopen(tmp, "w");
		if (f) {
			fputs(strbuf_str(&sb), f);
			fclose(f);
			rename(tmp, d->status_file);
		}
	} else {
		fputs(strbuf_str(&sb), f);
		fflush(f);
	}
	strbuf_free(&sb);
}

/* SIGHUP: reload by difference. */
static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct driver *d = arg;
	struct strbuf err = STRBUF_INIT;
	struct config *cfg = NULL;

	if (config_load(d->config, &cfg, &err) < 0 || registry_apply(d->reg, cfg, &err) < 0)
		log_warnx("reload: %s", strbuf_str(&err));
	else
		log_info("reloaded");
	config_free(cfg);
	strbuf_free(&err);
}

/* SIGTERM/SIGINT: leave the loop. */
static void term_cb(evutil_socket_t sig, short what, void *arg)
{
	struct driver *d = arg;

	event_base_loopbreak(d->base);
}

/* Load the config, start the registry, run the loop until SIGTERM. */
int main(int argc, char **argv)
{
	struct driver d = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct config *cfg = NULL;
	struct wg_ctx *wg = NULL;
	struct event *evs[4] = { 0 };
	int ret = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CONFIG [STATUS_FILE]\n", argv[0]);
		return 2;
	}
	d.config = argv[1];
	d.status_file = argc > 2 ? argv[2] : NULL;
	signal(SIGPIPE, SIG_IGN);
	if (config_load(d.config, &cfg, &err) < 0) {
		fprintf(stderr, "%s\n", strbuf_str(&err));
		goto out;
	}
	log_init(cfg->log_level, false);
	d.base = event_base_new();
	wg = d.base ? wg_ctx_new(d.base) : NULL;
	if (!wg || registry_new(d.base, wg, cfg, &d.reg, &err) < 0) {
		fprintf(stderr, "registry: %s\n", strbuf_str(&err));
		goto out;
	}
	evs[0] = evsignal_new(d.base, SIGUSR1, usr1_cb, &d);
	evs[1] = evsignal_new(d.base, SIGHUP, hup_cb, &d);
	evs[2] = evsignal_new(d.base, SIGTERM, term_cb, &d);
	evs[3] = evsignal_new(d.base, SIGINT, term_cb, &d);
	for (int i = 0; i < 4; i++)
		if (!evs[i] || evsignal_add(evs[i], NULL) < 0)
			goto out;
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(d.base);
	ret = 0;
out:
	for (int i = 0; i < 4; i++)
		if (evs[i])
			event_free(evs[i]);
	registry_free(d.reg);
	wg_ctx_free(wg);
	if (d.base)
		event_base_free(d.base);
	config_free(cfg);
	strbuf_free(&err);
	return ret;
}
