/* SPDX-License-Identifier: MIT */
/* The daemon: one libevent loop with the roles, signals, reload and the status socket. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "build-config.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "portmap.h"
#include "registry.h"
#include "status.h"
#include "wg.h"

/* The longest the client's first cycle waits for the local registry's first snapshots. */
#define CLIENT_HOLD_MAX_MS 10000
/* The longest exit waits for UPnP port mappings being deleted on their worker threads. */
#define PORTMAP_EXIT_WAIT_MS 5000

/* Tell systemd what the daemon is doing, in one line. */
static void daemon_notify_status(struct daemon *d, const char *prefix)
{
	const struct config *cfg = d->cfg;

	notify_send("%sSTATUS=%s%zu zone(s) on %zu listener(s), %zu client device(s)", prefix,
		    cfg->registry.enabled ? "registry: " : "", cfg->n_zones,
		    cfg->registry.enabled ? cfg->registry.n_listens : 0, cfg->n_clients);
}

/* Answer one status socket command. */
static void daemon_control_cb(enum control_cmd cmd, struct strbuf *reply, void *arg)
{
	struct daemon *d = arg;
	struct strbuf err = STRBUF_INIT;

	switch (cmd) {
	case CONTROL_CMD_STATUS:
		status_json(d, reply);
		break;
	case CONTROL_CMD_METRICS:
		status_metrics(d, reply);
		break;
	case CONTROL_CMD_RELOAD:
		if (daemon_reload(d, &err) == 0)
			strbuf_puts(reply, "ok: configuration reloaded\n");
		else
			strbuf_printf(reply, "error: reload failed, running configuration kept: %s\n", strbuf_str(&err));
		break;
	case CONTROL_CMD_VERSION:
		strbuf_printf(reply, "wgsd %s\n", WGSD_VERSION);
		break;
	case CONTROL_CMD_INVALID:
		break;
	}
	strbuf_free(&err);
}

/* Make sure the status socket's directory exists (systemd's RuntimeDirectory normally does it). */
static void daemon_make_socket_dir(const char *path)
{
	char dir[STATUS_SOCKET_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warn("mkdir %s", dir);
}

/* Remove the trailing newline of an error text for one-line logging. */
static void chomp(struct strbuf *sb)
{
	while (sb->len > 0 && sb->data[sb->len - 1] == '\n')
		sb->data[--sb->len] = '\0';
	for (size_t i = 0; i < sb->len; i++)
		if (sb->data[i] == '\n')
			sb->data[i] = ';';
}

/* Re-read the configuration; apply by difference or keep the running one. */
int daemon_reload(struct daemon *d, struct strbuf *err)
{
	struct config *ncfg = NULL, *old = d->cfg;
	struct control *nctl = NULL;
	struct registry *nreg = NULL;
	struct client *ncli = NULL;
	bool reg_applied = false;

	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)clock_monotonic_us());
	log_info("reloading %s", d->config_path);
	if (config_load(d->config_path, &ncfg, err) < 0)
		goto fail;
	if (strcmp(ncfg->status_socket, old->status_socket) != 0) {
		daemon_make_socket_dir(ncfg->status_socket);
		if (control_open(d->base, ncfg->status_socket, daemon_control_cb, d, &nctl, err) < 0)
			goto fail;
	}
	if (ncfg->registry.enabled && d->registry) {
		if (registry_apply(d->registry, ncfg, err) < 0)
			goto fail;
		reg_applied = true;
	} else if (ncfg->registry.enabled) {
		if (registry_new(d->base, d->wg, ncfg, &nreg, err) < 0)
			goto fail;
	}
	if (ncfg->n_clients > 0 && d->client) {
		if (client_apply(d->client, ncfg, err) < 0)
			goto fail;
	} else if (ncfg->n_clients > 0) {
		if (client_new(d->base, d->wg, ncfg, &ncli, err) < 0)
			goto fail;
	}

	/* Commit: nothing below can fail. */
	if (nctl) {
		/* This reload may run inside a command on the old socket: retire it, don't free it. */
		control_retire(d->control);
		d->control = nctl;
	}
	if (!ncfg->registry.enabled) {
		registry_free(d->registry);
		d->registry = NULL;
	} else if (nreg) {
		d->registry = nreg;
	}
	if (ncfg->n_clients == 0) {
		client_free(d->client);
		d->client = NULL;
	} else if (ncli) {
		d->client = ncli;
	}
	log_set_level(d->debug ? LOG_LVL_DEBUG : ncfg->log_level);
	d->cfg = ncfg;
	config_free(old);
	d->reloads_ok++;
	d->last_reload_ok = true;
	d->last_reload_wall = time(NULL);
	strbuf_reset(&d->last_reload_error);
	log_info("configuration reloaded");
	daemon_notify_status(d, "READY=1\n");
	return 0;

fail:
	/* Roll back what was changed in place; drop what was created. */
	if (reg_applied) {
		struct strbuf e2 = STRBUF_INIT;
		if (registry_apply(d->registry, old, &e2) < 0)
			log_warnx("reload rollback of the registry: %s", strbuf_str(&e2));
		strbuf_free(&e2);
	}
	registry_free(nreg);
	client_free(ncli);
	control_close(nctl);
	config_free(ncfg);
	chomp(err);
	d->reloads_failed++;
	d->last_reload_ok = false;
	d->last_reload_wall = time(NULL);
	strbuf_reset(&d->last_reload_error);
	strbuf_puts(&d->last_reload_error, strbuf_str(err));
	log_errx("reload failed, keeping the running configuration: %s", strbuf_str(err));
	notify_send("READY=1\nSTATUS=reload failed, running configuration kept: %.200s", strbuf_str(err));
	return -1;
}

/* SIGHUP: reload. */
static void daemon_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct strbuf err = STRBUF_INIT;

	(void)sig;
	(void)what;
	daemon_reload(arg, &err);
	strbuf_free(&err);
}

/* SIGTERM/SIGINT: leave the loop. */
static void daemon_term_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	notify_send("STOPPING=1");
	event_base_loopbreak(d->base);
}

/* Watchdog keep-alive. */
static void daemon_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_send("WATCHDOG=1");
}

/* The local registry has its first snapshots (or the wait is over): let the client start. */
static void daemon_registry_loaded_cb(void *arg)
{
	struct daemon *d = arg;

	if (d->registry)
		registry_set_loaded_cb(d->registry, NULL, NULL);
	if (d->ev_hold) {
		event_free(d->ev_hold);
		d->ev_hold = NULL;
	}
	if (d->client)
		client_release(d->client);
}

/* The hold's time limit passed. */
static void daemon_hold_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	log_warnx("the local registry has no snapshot after %d s; starting the client anyway",
		  CLIENT_HOLD_MAX_MS / 1000);
	daemon_registry_loaded_cb(arg);
}

/* Load, bind, start. */
int daemon_init(struct daemon *d, const char *config_path, bool debug)
{
	struct strbuf err = STRBUF_INIT;
	uint64_t wd;
	int ret = -1;

	memset(d, 0, sizeof(*d));
	d->debug = debug;
	d->started_ms = clock_monotonic_ms();
	d->started_wall = time(NULL);
	/* Absolute, so a reload finds the same file whatever the working directory. */
	d->config_path = realpath(config_path, NULL);
	if (!d->config_path)
		d->config_path = strdup(config_path);
	if (!d->config_path)
		goto out;
	if (config_load(config_path, &d->cfg, &err) < 0) {
		chomp(&err);
		log_errx("%s", strbuf_str(&err));
		goto out;
	}
	log_set_level(debug ? LOG_LVL_DEBUG : d->cfg->log_level);
	signal(SIGPIPE, SIG_IGN);
	if (notify_init() < 0)
		log_warnx("NOTIFY_SOCKET is set but unusable; not notifying systemd");

	struct event_config *ecfg = event_config_new();
	if (ecfg) {
		/* One loop, monotonic timers, no locking. */
		event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
		d->base = event_base_new_with_config(ecfg);
		event_config_free(ecfg);
	}
	if (!d->base) {
		log_errx("cannot create the event loop");
		goto out;
	}
	d->wg = wg_ctx_new(d->base);
	if (!d->wg) {
		log_errx("out of memory");
		goto out;
	}
	daemon_make_socket_dir(d->cfg->status_socket);
	if (control_open(d->base, d->cfg->status_socket, daemon_control_cb, d, &d->control, &err) < 0) {
		log_errx("%s", strbuf_str(&err));
		goto out;
	}
	if (d->cfg->registry.enabled && registry_new(d->base, d->wg, d->cfg, &d->registry, &err) < 0) {
		chomp(&err);
		log_errx("registry: %s", strbuf_str(&err));
		goto out;
	}
	if (d->cfg->n_clients > 0 && client_new(d->base, d->wg, d->cfg, &d->client, &err) < 0) {
		chomp(&err);
		log_errx("client: %s", strbuf_str(&err));
		goto out;
	}
	/*
	 * With both roles, the client's first cycle would ask this process's
	 * own registry before its first snapshot exists and get SERVFAIL: it
	 * waits for the registry's first snapshots, at most CLIENT_HOLD_MAX_MS.
	 */
	if (d->registry && d->client) {
		struct timeval tv = { CLIENT_HOLD_MAX_MS / 1000, 0 };

		d->ev_hold = evtimer_new(d->base, daemon_hold_timeout_cb, d);
		if (!d->ev_hold) {
			log_errx("out of memory");
			goto out;
		}
		client_hold(d->client);
		registry_set_loaded_cb(d->registry, daemon_registry_loaded_cb, d);
		evtimer_add(d->ev_hold, &tv);
	}
	d->ev_hup = evsignal_new(d->base, SIGHUP, daemon_hup_cb, d);
	d->ev_term = evsignal_new(d->base, SIGTERM, daemon_term_cb, d);
	d->ev_int = evsignal_new(d->base, SIGINT, daemon_term_cb, d);
	if (!d->ev_hup || !d->ev_term || !d->ev_int) {
		log_errx("cannot set up signal handling");
		goto out;
	}
	evsignal_add(d->ev_hup, NULL);
	evsignal_add(d->ev_term, NULL);
	evsignal_add(d->ev_int, NULL);
	wd = notify_watchdog_usec();
	if (wd) {
		struct timeval tv = { (time_t)(wd / 2 / 1000000), (suseconds_t)(wd / 2 % 1000000) };
		d->ev_watchdog = event_new(d->base, -1, EV_PERSIST, daemon_watchdog_cb, d);
		if (d->ev_watchdog)
			event_add(d->ev_watchdog, &tv);
	}
	ret = 0;
out:
	strbuf_free(&err);
	return ret;
}

/* Run until stopped. */
int daemon_run(struct daemon *d)
{
	log_info("wgsd %s started (config %s, status socket %s)", WGSD_VERSION, d->config_path,
		 d->cfg->status_socket);
	daemon_notify_status(d, "READY=1\n");
	notify_send("WATCHDOG=1");
	if (event_base_dispatch(d->base) < 0) {
		log_errx("event loop failed");
		return 1;
	}
	return d->exit_code;
}

/* Release everything. */
void daemon_free(struct daemon *d)
{
	client_free(d->client);
	portmap_shutdown_wait(PORTMAP_EXIT_WAIT_MS);
	registry_free(d->registry);
	control_close(d->control);
	if (d->ev_hup)
		event_free(d->ev_hup);
	if (d->ev_term)
		event_free(d->ev_term);
	if (d->ev_int)
		event_free(d->ev_int);
	if (d->ev_watchdog)
		event_free(d->ev_watchdog);
	if (d->ev_hold)
		event_free(d->ev_hold);
	if (d->wg)
		wg_ctx_free(d->wg);
	if (d->base)
		event_base_free(d->base);
	config_free(d->cfg);
	free(d->config_path);
	strbuf_free(&d->last_reload_error);
	notify_close();
	memset(d, 0, sizeof(*d));
}
