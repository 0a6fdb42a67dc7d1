/* SPDX-License-Identifier: MIT */
/* The status document and metrics: the daemon's own part, then each role's. */
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "registry.h"
#include "status.h"

/* Seconds since start, from the monotonic clock. */
static double uptime_s(const struct daemon *d)
{
	return (double)(clock_monotonic_ms() - d->started_ms) / 1e3;
}

/* Append the status document. */
void status_json(const struct daemon *d, struct strbuf *out)
{
	strbuf_puts(out, "{\"version\":");
	strbuf_json_string(out, WGSD_VERSION);
	strbuf_printf(out, ",\"pid\":%ld,\"started\":%lld,\"uptime_s\":%.0f,\"config\":",
		      (long)getpid(), (long long)d->started_wall, uptime_s(d));
	strbuf_json_string(out, d->config_path);
	strbuf_puts(out, ",\"log_level\":");
	strbuf_json_string(out, log_level_name(log_get_level()));
	strbuf_puts(out, ",\"status_socket\":");
	strbuf_json_string(out, d->cfg->status_socket);
	strbuf_printf(out, ",\"reload\":{\"ok\":%lu,\"failed\":%lu,\"last\":", d->reloads_ok, d->reloads_failed);
	if (d->last_reload_wall == 0) {
		strbuf_puts(out, "null");
	} else {
		strbuf_printf(out, "{\"time\":%lld,\"ok\":%s,\"error\":", (long long)d->last_reload_wall,
			      d->last_reload_ok ? "true" : "false");
		strbuf_json_string(out, d->last_reload_ok ? NULL : strbuf_str(&d->last_reload_error));
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "},\"registry\":");
	if (d->registry)
		registry_status_json(d->registry, out);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"client\":");
	if (d->client)
		client_status_json(d->client, out);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, "}\n");
}

/* Append Prometheus text-format metrics. */
void status_metrics(const struct daemon *d, struct strbuf *out)
{
	strbuf_puts(out, "# HELP wgsd_info Build information.\n# TYPE wgsd_info gauge\n");
	strbuf_printf(out, "wgsd_info{version=\"%s\"} 1\n", WGSD_VERSION);
	strbuf_puts(out, "# HELP wgsd_uptime_seconds Seconds since the daemon started.\n"
			 "# TYPE wgsd_uptime_seconds gauge\n");
	strbuf_printf(out, "wgsd_uptime_seconds %.0f\n", uptime_s(d));
	strbuf_puts(out, "# HELP wgsd_reloads_total Configuration reloads by result.\n"
			 "# TYPE wgsd_reloads_total counter\n");
	strbuf_printf(out, "wgsd_reloads_total{result=\"ok\"} %lu\n", d->reloads_ok);
	strbuf_printf(out, "wgsd_reloads_total{result=\"error\"} %lu\n", d->reloads_failed);
	strbuf_puts(out, "# HELP wgsd_config_last_reload_ok Whether the last reload succeeded (1 before any reload).\n"
			 "# TYPE wgsd_config_last_reload_ok gauge\n");
	strbuf_printf(out, "wgsd_config_last_reload_ok %d\n", d->last_reload_wall == 0 || d->last_reload_ok);
	if (d->registry)
		registry_metrics(d->registry, out);
	if (d->client)
		client_metrics(d->client, out);
}
