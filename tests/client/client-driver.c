/* SPDX-License-Identifier: MIT */
/*
 * Test driver for the client role alone: loads a configuration, runs
 * client_new() on an event loop, writes the status JSON and metrics to
 * files on SIGUSR1, exits 0 on SIGTERM/SIGINT.
 *
 * usage: client-driver -c FILE -s STATUSFILE [-d]
 * (STATUSFILE gets the JSON; STATUSFILE.metrics the Prometheus text.)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "strbuf.h"
#include "wg.h"

struct driver {
	struct event_base *base;
	struct client *client;
	const char *status_path;
	const char *config_path;
};

/* Write text to path through a temporary file and rename(), so readers never see half of it. */
static void write_file(const char *path, const struct strbuf *sb)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fputs(strbuf_str(sb), f);
	fputc('\n', f);
	fclose(f);
	rename(tmp, path);
}

/* SIGUSR1: dump status and metrics. */
static void usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct driver *d = arg;
	struct strbuf sb = STRBUF_INIT;
	char mpath[4096];

	client_status_json(d->client, &sb);
	write_file(d->status_path, &sb);
	strbuf_reset(&sb);
	client_metrics(d->client, &sb);
	snprintf(mpath, sizeof(mpath), "%s.metrics", d->status_path);
	write_file(mpath, &sb);
	strbuf_free(&sb);
}

/* SIGHUP: reload the client sections. */
static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct driver *d = arg;
	struct strbuf err = STRBUF_INIT;
	struct config *cfg = NULL;

	if (config_load(d->config_path, &cfg, &err) < 0 || client_apply(d->client, cfg, &err) < 0)
		log_warnx("reload: %s", strbuf_str(&err));
	config_free(cfg);
	strbuf_free(&err);
}

/* SIGTERM/SIGINT: stop the loop. */
static void term_cb(evutil_socket_t sig, short what, void *arg)
{
	struct driver *d = arg;

	event_base_loopbreak(d->base);
}

int main(int argc, char **argv)
{
	struct driver d = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct config *cfg = NULL;
	struct wg_ctx *wg = NULL;
	struct event *ev_usr1 = NULL, *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	bool debug = false;
	int ch, rc = 1;

	while ((ch = getopt(argc, argv, "c:s:d")) != -1) {
		switch (ch) {
		case 'c': d.config_path = optarg; break;
		case 's': d.status_path = optarg; break;
		case 'd': debug = true; break;
		default:
			fprintf(stderr, "usage: client-driver -c FILE -s STATUSFILE [-d]\n");
			return 2;
		}
	}
	if (!d.config_path || !d.status_path) {
		fprintf(stderr, "usage: client-driver -c FILE -s STATUSFILE [-d]\n");
		return 2;
	}
	if (config_load(d.config_path, &cfg, &err) < 0) {
		fprintf(stderr, "%s", strbuf_str(&err));
		goto out;
	}
	log_init(debug ? LOG_LVL_DEBUG : cfg->log_level, false);
	d.base = event_base_new();
	wg = d.base ? wg_ctx_new(d.base) : NULL;
	if (!wg) {
		fprintf(stderr, "cannot set up the loop\n");
		goto out;
	}
	if (client_new(d.base, wg, cfg, &d.client, &err) < 0) {
		fprintf(stderr, "client: %s", strbuf_str(&err));
		goto out;
	}
	ev_usr1 = evsignal_new(d.base, SIGUSR1, usr1_cb, &d);
	ev_hup = evsignal_new(d.base, SIGHUP, hup_cb, &d);
	ev_term = evsignal_new(d.base, SIGTERM, term_cb, &d);
	ev_int = evsignal_new(d.base, SIGINT, term_cb, &d);
	evsignal_add(ev_usr1, NULL);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	log_info("client-driver started");
	event_base_dispatch(d.base);
	rc = 0;
out:
	client_free(d.client);
	if (ev_usr1)
		event_free(ev_usr1);
	if (ev_hup)
		event_free(ev_hup);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	wg_ctx_free(wg);
	if (d.base)
		event_base_free(d.base);
	config_free(cfg);
	strbuf_free(&err);
	return rc;
}
