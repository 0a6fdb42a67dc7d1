/* SPDX-License-Identifier: MIT */
/*
 * wgsdctl's human view of the status document: a summary line per daemon,
 * zone, listener, client device and registry first, then peers (all of
 * them when few, or when asked for with -v, -i or -p).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl-status.h"

/* Peers listed per device without -v when no filter is given. */
#define CTL_PEERS_SHOWN_MAX 20

/* String member or fallback. */
static const char *str(const struct json *obj, const char *key, const char *fallback)
{
	const struct json *v = json_get(obj, key);

	return v && v->type == JSON_STRING ? v->string : fallback;
}

/* Number member or fallback. */
static double num(const struct json *obj, const char *key, double fallback)
{
	const struct json *v = json_get(obj, key);

	return v && v->type == JSON_NUMBER ? v->number : fallback;
}

/* True when the member exists and is a number. */
static bool has_num(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);

	return v && v->type == JSON_NUMBER;
}

/* Boolean member: 1, 0, or -1 when null/absent. */
static int boolean(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);

	return v && v->type == JSON_BOOL ? v->boolean : -1;
}

/* Format a duration in seconds like "2h 3m", "4m 5s", "12s". */
static char *fmt_age(double s, char *buf, size_t len)
{
	/* Clamp before converting: a double beyond long long's range is undefined to convert. */
	long long t = s > 0 && s < 1e15 ? (long long)s : (s >= 1e15 ? 999999999999999LL : 0);

	if (t >= 86400)
		snprintf(buf, len, "%lldd %lldh", t / 86400, t % 86400 / 3600);
	else if (t >= 3600)
		snprintf(buf, len, "%lldh %lldm", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		snprintf(buf, len, "%lldm %llds", t / 60, t % 60);
	else
		snprintf(buf, len, "%llds", t);
	return buf;
}

/* "2m 5s ago". */
static char *fmt_ago(double s, char *buf, size_t len)
{
	char age[32];

	snprintf(buf, len, "%s ago", fmt_age(s, age, sizeof(age)));
	return buf;
}

/* "x ago" for a wall-clock time member, or "never". */
static char *fmt_when(const struct json *obj, const char *key, time_t now, char *buf, size_t len)
{
	if (!has_num(obj, key) || num(obj, key, 0) <= 0) {
		snprintf(buf, len, "never");
		return buf;
	}
	return fmt_ago((double)now - num(obj, key, 0), buf, len);
}

/* Sum of the numbers in an object (per-type or per-rcode counters). */
static double sum(const struct json *obj)
{
	double s = 0;

	if (!obj || obj->type != JSON_OBJECT)
		return 0;
	for (const struct json *c = obj->child; c; c = c->next)
		if (c->type == JSON_NUMBER)
			s += c->number;
	return s;
}

/* Print the non-zero counters of an object as "12 NOERROR, 3 NXDOMAIN". */
static void print_counts(FILE *out, const struct json *obj)
{
	bool first = true;

	if (!obj || obj->type != JSON_OBJECT)
		return;
	for (const struct json *c = obj->child; c; c = c->next) {
		if (c->type != JSON_NUMBER || c->number == 0)
			continue;
		fprintf(out, "%s%.0f %s", first ? "" : ", ", c->number, c->key);
		first = false;
	}
	if (first)
		fprintf(out, "none");
}

/* Daemon header: version, uptime, configuration, last reload. */
static void print_daemon(FILE *out, const struct json *doc, time_t now)
{
	char up[32], when[48];
	const struct json *reload = json_get(doc, "reload");
	const struct json *last = json_get(reload, "last");

	fprintf(out, "wgsd %s (pid %.0f), up %s, config %s\n", str(doc, "version", "?"),
		num(doc, "pid", 0), fmt_age(num(doc, "uptime_s", 0), up, sizeof(up)), str(doc, "config", "?"));
	if (!last || last->type != JSON_OBJECT)
		fprintf(out, "  reload: never\n");
	else if (boolean(last, "ok") == 1)
		fprintf(out, "  reload: ok (%s)\n", fmt_when(last, "time", now, when, sizeof(when)));
	else
		fprintf(out, "  reload: FAILED (%s), running configuration kept: %s\n",
			fmt_when(last, "time", now, when, sizeof(when)), str(last, "error", "?"));
}

/* Does a string member pass a filter (no filter: yes; member absent: yes)? */
static bool match(const struct json *obj, const char *key, const char *want, bool prefix)
{
	const char *v = str(obj, key, NULL);

	if (!want || !v)
		return true;
	return prefix ? strncmp(v, want, strlen(want)) == 0 : strcmp(v, want) == 0;
}

/* A zone's secondaries: NOTIFY state and last transfer of each, then what members transferred. */
static void print_transfers(FILE *out, const struct json *x)
{
	char age[32];

	for (const struct json *s = json_get(x, "secondaries") ? json_get(x, "secondaries")->child : NULL; s; s = s->next) {
		const struct json *n = json_get(s, "notify_state"), *t = json_get(s, "transfers");
		const struct json *last = json_get(t, "last");
		fprintf(out, "    secondary %s", str(s, "address", "?"));
		if (n && n->type == JSON_OBJECT) {
			const char *state = str(n, "state", "?");
			if (strcmp(state, "failed") == 0)
				fprintf(out, "  NOTIFY FAILED: %s", str(n, "last_error", "?"));
			else if (has_num(n, "acked_serial"))
				fprintf(out, "  notify %s (acknowledged serial %.0f)", state, num(n, "acked_serial", 0));
			else
				fprintf(out, "  notify %s", state);
		}
		if (last && last->type == JSON_OBJECT)
			fprintf(out, "  last %s of serial %.0f: %.0f records, %.0f bytes, %s ago%s", str(last, "type", "?"),
				num(last, "serial", 0), num(last, "records", 0), num(last, "bytes", 0),
				fmt_age(num(last, "age_s", 0), age, sizeof(age)),
				boolean(last, "complete") == 0 ? ", CUT OFF" : "");
		else
			fprintf(out, "  no transfer yet");
		fprintf(out, "  (%.0f transfers, %.0f failed)\n", num(t, "transfers", 0), num(t, "failures", 0));
	}
	const struct json *p = json_get(x, "peers");
	if (num(p, "transfers", 0) + num(p, "failures", 0) > 0)
		fprintf(out, "    members through the tunnel: %.0f transfers, %.0f failed\n", num(p, "transfers", 0),
			num(p, "failures", 0));
	if (num(x, "refused", 0) > 0)
		fprintf(out, "    %.0f transfer requests refused (not allowed)\n", num(x, "refused", 0));
}

/* Registry: zones and listeners. */
static void print_registry(FILE *out, const struct json *reg, const struct ctl_status_opts *o)
{
	const struct json *zones = json_get(reg, "zones"), *listeners = json_get(reg, "listeners");
	char age[32];

	fprintf(out, "\nregistry: access %s, ttl %.0f\n", str(reg, "access", "?"), num(reg, "ttl", 0));
	for (const struct json *z = zones ? zones->child : NULL; z; z = z->next) {
		if (!match(z, "device", o->device, false))
			continue;
		const char *state = str(z, "state", "?");
		fprintf(out, "  zone %s  device %s (%s)  ", str(z, "name", "?"), str(z, "device", "?"),
			str(z, "backend", "?"));
		if (strcmp(state, "ok") == 0) {
			fprintf(out, "ok: %.0f of %.0f peers published, snapshot %s old, serial %.0f\n",
				num(z, "peers_published", 0), num(z, "peers", 0),
				has_num(z, "snapshot_age_s") ? fmt_age(num(z, "snapshot_age_s", 0), age, sizeof(age)) : "-",
				num(z, "serial", 0));
		} else {
			fprintf(out, "%s: %s\n", strcmp(state, "servfail") == 0 ? "SERVFAIL" : state,
				str(z, "last_error", "no reading yet"));
		}
		if (num(z, "peers_unpublishable", 0) > 0)
			fprintf(out, "    note: %.0f not published: endpoint no one can use (loopback, link-local, "
				"port 0, ...)\n", num(z, "peers_unpublishable", 0));
		if (boolean(z, "ptr_listing_truncated") == 1)
			fprintf(out, "    warning: the PTR listing does not fit in 65535 bytes; answers list only part\n");
		if (json_get(z, "transfers"))
			print_transfers(out, json_get(z, "transfers"));
		const struct json *cands = json_get(z, "candidates");
		if (cands && sum(json_get(cands, "updates")) > 0) {
			fprintf(out, "    candidates: %.0f registered by %.0f peers, %.0f published; updates: ",
				num(cands, "stored", 0), num(cands, "peers", 0), num(cands, "published", 0));
			print_counts(out, json_get(cands, "updates"));
			fprintf(out, "\n");
		}
	}
	for (const struct json *l = listeners ? listeners->child : NULL; l; l = l->next) {
		const struct json *udp = json_get(l, "udp"), *tcp = json_get(l, "tcp");
		fprintf(out, "  listener %s  udp %.0f queries (", str(l, "address", "?"), sum(json_get(udp, "queries")));
		print_counts(out, json_get(udp, "rcodes"));
		fprintf(out, "), %.0f refused, %.0f truncated;  tcp %.0f queries, %.0f open connections\n",
			num(udp, "refused", 0), num(udp, "truncated", 0), sum(json_get(tcp, "queries")),
			num(l, "tcp_connections", 0));
	}
	const struct json *relay = json_get(reg, "relay");
	if (relay && relay->type == JSON_OBJECT) {
		const struct json *addrs = json_get(relay, "addresses");
		fprintf(out, "  relay");
		for (const struct json *a = addrs ? addrs->child : NULL; a; a = a->next)
			fprintf(out, " %s", a->type == JSON_STRING ? a->string : "?");
		fprintf(out, " ports %s: %.0f of %.0f allocations, %.0f packets (%.0f bytes) relayed, %.0f dropped\n",
			str(relay, "ports", "?"), num(relay, "allocations", 0), num(relay, "max_allocations", 0),
			num(relay, "forwarded_packets", 0), num(relay, "forwarded_bytes", 0),
			sum(json_get(relay, "dropped")));
		if (num(relay, "allocations_refused_full", 0) > 0)
			fprintf(out, "    %.0f new pairs refused: every allocation was in use (max-allocations)\n",
				num(relay, "allocations_refused_full", 0));
	}
}

/* A peer's candidates: the path in use or being tried, then each candidate and what became of it. */
static void print_peer_candidates(FILE *out, const struct json *c)
{
	const struct json *list = json_get(c, "list"), *cur = json_get(c, "current"), *worked = json_get(c, "worked");
	char age[32];

	if (!list || !list->child)
		return;
	fprintf(out, "      path: %s", str(c, "state", "?"));
	if (cur && cur->type == JSON_OBJECT)
		fprintf(out, " %s %s for %s", str(cur, "kind", "?"), str(cur, "endpoint", "?"),
			fmt_age(num(cur, "for_ms", 0) / 1000, age, sizeof(age)));
	if (worked && worked->type == JSON_OBJECT)
		fprintf(out, "; handshake last over %s %s", str(worked, "kind", "?"), str(worked, "endpoint", "?"));
	fprintf(out, "\n");
	for (const struct json *e = list->child; e; e = e->next) {
		fprintf(out, "        %-8s %-40s %s", str(e, "kind", "?"), str(e, "endpoint", "?"), str(e, "state", "?"));
		if (str(e, "why", NULL))
			fprintf(out, ": %s", str(e, "why", ""));
		fprintf(out, "\n");
	}
}

/* One client peer on one line, plus its per-registry results when verbose. */
static void print_peer(FILE *out, const struct json *p, time_t now, bool verbose)
{
	char hs[48], when[48];
	const char *key = str(p, "public_key", "?");
	const char *nat = str(p, "nat", "unknown");
	const struct json *backoff = json_get(p, "backoff");

	fprintf(out, "    peer %.8s...  %-9s handshake %s, endpoint %s", key, str(p, "class", "?"),
		has_num(p, "handshake_age_s") ? fmt_ago(num(p, "handshake_age_s", 0), hs, sizeof(hs)) : "never",
		str(p, "endpoint", "none"));
	if (has_num(p, "endpoint_set_at"))
		fprintf(out, " (set by wgsd %s)", fmt_when(p, "endpoint_set_at", now, when, sizeof(when)));
	if (boolean(p, "added_by_wgsd") == 1)
		fprintf(out, ", added by wgsd %s", fmt_when(p, "added_at", now, when, sizeof(when)));
	fprintf(out, ", last result %s", str(p, "result", "-"));
	if (num(backoff, "skip_cycles", 0) > 0)
		fprintf(out, ", backing off %.0f cycles", num(backoff, "skip_cycles", 0));
	fprintf(out, "\n");
	if (strcmp(nat, "symmetric") == 0)
		fprintf(out, "      NAT: registries see different ports for this peer: its NAT maps per destination "
			     "(symmetric), so hole punching to it will likely fail\n");
	const struct json *relay = json_get(p, "relay");
	const char *stage = str(relay, "stage", "idle");
	if (strcmp(stage, "relayed") == 0) {
		fprintf(out, "      relayed via %s: no direct path was found, the registry's relay forwards its "
			     "WireGuard packets (still end-to-end encrypted)", str(relay, "endpoint", "?"));
		if (has_num(relay, "next_direct_try_s"))
			fprintf(out, "; next direct try in %.0f s", num(relay, "next_direct_try_s", 0));
		fprintf(out, "\n");
	} else if (strcmp(stage, "probing") == 0)
		fprintf(out, "      trying direct %s (relay %s kept)\n", str(relay, "direct_try", "?"),
			str(relay, "endpoint", "?"));
	else if (strcmp(stage, "failed") == 0 && str(relay, "last_error", NULL))
		fprintf(out, "      no relay: %s\n", str(relay, "last_error", ""));
	else if (strcmp(stage, "asking") == 0)
		fprintf(out, "      asking the registry for a relay\n");
	print_peer_candidates(out, json_get(p, "candidates"));
	if (!verbose)
		return;
	fprintf(out, "      key %s, NAT %s\n", key, nat);
	const struct json *regs = json_get(p, "registries");
	for (const struct json *r = regs ? regs->child : NULL; r; r = r->next) {
		fprintf(out, "      registry %s: %s", str(r, "address", "?"), str(r, "result", "-"));
		if (json_get(r, "endpoint") && json_get(r, "endpoint")->type == JSON_STRING)
			fprintf(out, " %s", str(r, "endpoint", ""));
		if (has_num(r, "seen"))
			fprintf(out, " (seen %.0fs ago by the registry)", num(r, "seen", 0));
		fprintf(out, ", asked %s\n", fmt_when(r, "last_query", now, when, sizeof(when)));
	}
}

/* peers = auto: listings, peers added, pending removals and refusals of one device. */
static void print_membership(FILE *out, const struct json *m, const struct ctl_status_opts *o, time_t now)
{
	const struct json *added = json_get(m, "added"), *refused = json_get(m, "refused");
	const struct json *regs = json_get(m, "registries");
	size_t n_added = 0, n_pending = 0, n_refused = 0, shown = 0;
	char age[32], when[48];

	if (strcmp(str(m, "peers", "existing"), "auto") != 0)
		return;
	for (const struct json *a = added ? added->child : NULL; a; a = a->next) {
		n_added++;
		n_pending += has_num(a, "absent_for_s");
	}
	for (const struct json *r = refused ? refused->child : NULL; r; r = r->next)
		n_refused++;
	fprintf(out, "    membership (peers = auto): %.0f listed by the registries, %zu added by wgsd (at most %.0f), %zu pending removal, %zu refused; %.0f added and %.0f removed since start\n",
		num(m, "listed", 0), n_added, num(m, "auto_max_peers", 0), n_pending, n_refused,
		num(m, "added_total", 0), num(m, "removed_total", 0));
	if (str(m, "state_error", NULL))
		fprintf(out, "      state file %s: ERROR: %s (%s)\n", str(m, "state_file", "?"), str(m, "state_error", ""),
			boolean(m, "adding") == 1 ? "peers are still added" : "no peer is added meanwhile");
	for (const struct json *r = regs ? regs->child : NULL; r; r = r->next) {
		const char *l = str(r, "listing", "none");
		const struct json *x = json_get(r, "transfer");

		if (strcmp(l, "complete") == 0 && strcmp(str(r, "source", "ptr"), "transfer") == 0)
			fprintf(out, "      registry %s: listing of %.0f peers read by zone transfer (serial %.0f, %.0f bytes, %.0f ms)\n",
				str(r, "address", "?"), num(r, "peers", 0), num(x, "serial", 0), num(x, "bytes", 0),
				num(x, "ms", 0));
		if (strcmp(l, "complete") == 0 || strcmp(l, "none") == 0)
			continue;
		if (strcmp(l, "truncated") == 0)
			fprintf(out, "      registry %s lists only its first %.0f peers (truncated even over TCP; zone transfer failed: %s); nothing is removed while a listing is incomplete\n",
				str(r, "address", "?"), num(r, "peers", 0), str(x, "error", "not tried"));
		else if (strcmp(l, "error") == 0)
			fprintf(out, "      registry %s: no listing (%s); nothing is removed meanwhile\n", str(r, "address", "?"),
				str(r, "error", "no answer"));
		else
			fprintf(out, "      registry %s: listing %s (%.0f peers, %.0f unreadable records); nothing is removed meanwhile\n",
				str(r, "address", "?"), l, num(r, "peers", 0), num(r, "unreadable", 0));
	}
	for (const struct json *a = added ? added->child : NULL; a; a = a->next) {
		if (!has_num(a, "absent_for_s") || !match(a, "public_key", o->peer, true))
			continue;
		fprintf(out, "      peer %.8s... pending removal: listed by no registry for %s", str(a, "public_key", "?"),
			fmt_age(num(a, "absent_for_s", 0), age, sizeof(age)));
		if (has_num(a, "remove_in_s"))
			fprintf(out, ", removed in %s\n", fmt_age(num(a, "remove_in_s", 0), when, sizeof(when)));
		else
			fprintf(out, " (auto-remove-after = never)\n");
	}
	for (const struct json *r = refused ? refused->child : NULL; r; r = r->next) {
		if (!match(r, "public_key", o->peer, true))
			continue;
		if (!o->verbose && !o->peer && shown == CTL_PEERS_SHOWN_MAX) {
			fprintf(out, "      ... more refused peers; -v lists every one\n");
			break;
		}
		fprintf(out, "      listed peer %.8s... not added: %s (since %s)\n", str(r, "public_key", "?"),
			str(r, "reason", "?"), fmt_when(r, "since", now, when, sizeof(when)));
		shown++;
	}
}

/* Protocol name for people. */
static const char *proto_title(const char *name)
{
	if (strcmp(name, "pcp") == 0)
		return "PCP";
	if (strcmp(name, "natpmp") == 0)
		return "NAT-PMP";
	if (strcmp(name, "upnp") == 0)
		return "UPnP IGD";
	return name;
}

/* A device's port mapping on the router, in one or two lines (nothing when off). */
static void print_port_mapping(FILE *out, const struct json *pm, time_t now)
{
	const char *mode = str(pm, "mode", "off"), *state = str(pm, "state", "?");
	char a[32], b[32], when[48];

	if (!pm || strcmp(mode, "off") == 0)
		return;
	fprintf(out, "    port mapping (%s): ", mode);
	if (strcmp(state, "mapped") == 0 || strcmp(state, "renewing") == 0) {
		fprintf(out, "%s at %s: %s -> %s", proto_title(str(pm, "protocol", "?")), str(pm, "server", "?"),
			str(pm, "external", "?"), str(pm, "internal", "?"));
		if (num(pm, "lifetime_left_s", -1) >= 0)
			fprintf(out, ", %s left", fmt_age(num(pm, "lifetime_left_s", 0), a, sizeof(a)));
		if (strcmp(state, "renewing") == 0)
			fprintf(out, ", renewing now");
		else if (has_num(pm, "next_action_in_s"))
			fprintf(out, ", renewal in %s", fmt_age(num(pm, "next_action_in_s", 0), b, sizeof(b)));
		if (boolean(pm, "external_private") == 1)
			fprintf(out, " (a private address: another NAT is in front of the router)");
	} else if (strcmp(state, "probing") == 0) {
		fprintf(out, "asking %s with %s", str(pm, "gateway", "?"), proto_title(str(pm, "protocol", "?")));
	} else if (strcmp(state, "failed") == 0) {
		fprintf(out, "FAILED at %s", str(pm, "gateway", "?"));
		if (has_num(pm, "next_action_in_s"))
			fprintf(out, ", next try in %s", fmt_age(num(pm, "next_action_in_s", 0), a, sizeof(a)));
		const struct json *errs = json_get(pm, "errors");
		for (const struct json *e = errs ? errs->child : NULL; e; e = e->next)
			if (e->type == JSON_STRING)
				fprintf(out, "; %s: %s", proto_title(e->key), e->string);
	} else if (strcmp(state, "no-gateway") == 0) {
		fprintf(out, "no IPv4 default gateway");
		if (str(pm, "gateway_error", NULL))
			fprintf(out, " (routing table: %s)", str(pm, "gateway_error", ""));
	} else {
		fprintf(out, "waiting for the device's listen port");
	}
	fprintf(out, "\n");
	if (num(pm, "mappings", 0) + num(pm, "failures", 0) > 0) {
		fprintf(out, "      %.0f created, %.0f renewed, %.0f failed, %.0f router restart(s), %.0f public endpoint change(s)",
			num(pm, "mappings", 0), num(pm, "renewals", 0), num(pm, "failures", 0),
			num(pm, "epoch_resets", 0), num(pm, "external_changes", 0));
		if (str(pm, "last_error", NULL))
			fprintf(out, "; last error %s: %s", fmt_when(pm, "last_error_at", now, when, sizeof(when)),
				str(pm, "last_error", ""));
		fprintf(out, "\n");
	}
}

/* Client: devices, their registries and peers. */
static void print_client(FILE *out, const struct json *cli, const struct ctl_status_opts *o, time_t now)
{
	const struct json *devs = json_get(cli, "devices");
	char when[48];

	fprintf(out, "\nclient:\n");
	for (const struct json *d = devs ? devs->child : NULL; d; d = d->next) {
		if (!match(d, "device", o->device, false))
			continue;
		const struct json *peers = json_get(d, "peers"), *regs = json_get(d, "registries");
		const struct json *last = json_get(d, "last_cycle");
		size_t n = 0, fresh = 0, cand = 0, other = 0, sym = 0;
		for (const struct json *p = peers ? peers->child : NULL; p; p = p->next) {
			const char *cls = str(p, "class", "");
			n++;
			if (strcmp(cls, "fresh") == 0)
				fresh++;
			else if (strcmp(cls, "candidate") == 0)
				cand++;
			else
				other++;
			if (strcmp(str(p, "nat", ""), "symmetric") == 0)
				sym++;
		}
		fprintf(out, "  device %s  zone %s (%s)  ", str(d, "device", "?"), str(d, "zone", "?"),
			str(d, "backend", "?"));
		if (str(d, "device_error", NULL))
			fprintf(out, "ERROR: %s\n", str(d, "device_error", ""));
		else
			fprintf(out, "%zu peers: %zu with a fresh handshake, %zu being resolved, %zu registry/excluded\n",
				n, fresh, cand, other);
		fprintf(out, "    %.0f endpoint updates, %.0f set errors, last cycle %s (%.0f ms, %.0f queried, %.0f updated)\n",
			num(d, "endpoint_updates", 0), num(d, "set_errors", 0),
			fmt_when(last, "at", now, when, sizeof(when)), num(last, "duration_ms", 0),
			num(last, "queried", 0), num(last, "updated", 0));
		const struct json *skipped = json_get(d, "writes_skipped");
		double rejected = num(d, "endpoints_rejected", 0);
		double sk_fresh = num(skipped, "fresh", 0), sk_moved = num(skipped, "moved", 0),
		       sk_gone = num(skipped, "gone", 0);
		if (rejected > 0)
			fprintf(out, "    %.0f answered endpoint(s) rejected as unusable (see the log)\n", rejected);
		if (sk_fresh + sk_moved + sk_gone > 0)
			fprintf(out, "    writes skipped, the peer changed while its answer was awaited: %.0f fresh, %.0f moved, %.0f gone\n",
				sk_fresh, sk_moved, sk_gone);
		if (boolean(d, "waiting_for_registry") == 1)
			fprintf(out, "    first cycle waits for this process's registry to load\n");
		if (sym)
			fprintf(out, "    %zu peer(s) behind symmetric NAT (see below)\n", sym);
		print_membership(out, json_get(d, "membership"), o, now);
		const struct json *dc = json_get(d, "candidates"), *own = json_get(dc, "own");
		if (own && own->child) {
			fprintf(out, "    own candidates:");
			for (const struct json *c = own->child; c; c = c->next)
				fprintf(out, "%s %s %s", c == own->child ? "" : ",", str(c, "kind", "?"), str(c, "endpoint", "?"));
			fprintf(out, "\n");
		}
		const struct json *creg = json_get(dc, "registries");
		creg = creg ? creg->child : NULL;
		for (const struct json *r = regs ? regs->child : NULL; r; r = r->next, creg = creg ? creg->next : NULL) {
			int up = boolean(r, "reachable");
			fprintf(out, "    registry %s  %s", str(r, "address", "?"),
				up == 1 ? "reachable" : up == 0 ? "UNREACHABLE" : "not asked yet");
			if (up == 1)
				fprintf(out, ", latency %.1f ms", num(r, "latency_ms", 0));
			if (str(r, "last_error", NULL))
				fprintf(out, ", last error: %s", str(r, "last_error", ""));
			if (creg && boolean(creg, "through_tunnel") == 1)
				fprintf(out, ", candidates %s (%.0f)", str(creg, "state", "?"), num(creg, "registered", 0));
			fprintf(out, "\n");
		}
		print_port_mapping(out, json_get(d, "port_mapping"), now);
		bool list_all = o->verbose || o->peer || n <= CTL_PEERS_SHOWN_MAX;
		size_t shown = 0;
		for (const struct json *p = peers ? peers->child : NULL; p; p = p->next) {
			if (!match(p, "public_key", o->peer, true))
				continue;
			/* Without -v a long list shows only the peers that need attention. */
			if (!list_all && strcmp(str(p, "class", ""), "candidate") != 0 &&
			    strcmp(str(p, "nat", ""), "symmetric") != 0)
				continue;
			if (!list_all && shown == CTL_PEERS_SHOWN_MAX) {
				fprintf(out, "    ... more peers need attention; filter with -p KEY or list all with -v\n");
				break;
			}
			print_peer(out, p, now, o->verbose || o->peer);
			shown++;
		}
		if (!list_all)
			fprintf(out, "    (%zu peers in all; -v lists every one, -p KEY one)\n", n);
	}
}

/* Print the status document for people. */
void ctl_status_print(FILE *out, const struct json *doc, const struct ctl_status_opts *o, time_t now)
{
	const struct json *reg = json_get(doc, "registry"), *cli = json_get(doc, "client");

	print_daemon(out, doc, now);
	if (reg && reg->type == JSON_OBJECT)
		print_registry(out, reg, o);
	if (cli && cli->type == JSON_OBJECT)
		print_client(out, cli, o, now);
}
