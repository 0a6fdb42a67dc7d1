/* SPDX-License-Identifier: MIT */
/* Configuration: the INI file parsed with inih into plain structs, then validated. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <ldns/ldns.h>

#include "build-config.h"
#include "cand.h"
#include "config.h"
#include "strbuf.h"

/* Longest line accepted; inih's own limit is smaller, so lines are fed through our reader. */
#define CONFIG_LINE_MAX 1024
#define CONFIG_MAX_ERRORS 20

enum section_kind { SEC_NONE, SEC_DAEMON, SEC_REGISTRY, SEC_RELAY, SEC_ZONE, SEC_KEY, SEC_CLIENT, SEC_BAD };

/* Parser state shared by the line reader and the inih handler. */
struct parse_state {
	struct config *cfg;
	struct strbuf *err;
	const char *name;          /* file name for messages */
	int n_errors;
	int line;                  /* line number of the line inih is handling */
	/* reader */
	FILE *file;
	const char *text;          /* string input */
	size_t text_pos;
	/* current section (tracked by the reader, so empty sections count too) */
	enum section_kind kind;
	char section[DNAME_STRLEN + 16];
	size_t index;              /* zone, key or client index for SEC_ZONE/SEC_KEY/SEC_CLIENT */
	unsigned long seen;        /* bit per scalar key already set in this section */
	bool seen_daemon;
	bool reported_line;        /* an error was already reported for the current line */
	bool nul_seen;             /* a NUL byte was read in the current line */
	int auto_keys_line;        /* last line of an auto-* key in the current section */
};

/* Record an error "NAME:LINE: [section] key: message". */
static void perr(struct parse_state *st, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr(struct parse_state *st, int line, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	st->n_errors++;
	st->reported_line = true;
	if (st->n_errors > CONFIG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		strbuf_printf(st->err, "%s:%d: ", st->name, line);
	else
		strbuf_printf(st->err, "%s: ", st->name);
	if (st->section[0] && line > 0)
		strbuf_printf(st->err, "[%s] ", st->section);
	if (key)
		strbuf_printf(st->err, "%s: ", key);
	strbuf_printf(st->err, "%s\n", msg);
}

/* Parse a duration with unit ms, s, m or h (bare number = seconds). */
int config_parse_duration_ms(const char *text, unsigned int *out_ms)
{
	unsigned long long v, mult;
	char *end;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else
		return -EINVAL;
	if (v > UINT_MAX / mult)
		return -EINVAL;
	*out_ms = (unsigned int)(v * mult);
	return 0;
}

/* Parse an unsigned decimal in [min, max]. */
static int parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Normalize a domain name: validate with ldns, lower-case, absolute. */
static int parse_dname(const char *text, char out[DNAME_STRLEN])
{
	ldns_rdf *rdf = NULL;
	char *s = NULL;
	int ret = -EINVAL;

	if (!*text || strlen(text) >= DNAME_STRLEN - 1)
		return -EINVAL;
	/* Host-name characters plus '_' (service labels): no escapes, blanks or control bytes. */
	for (const char *c = text; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '_' || *c == '.'))
			return -EINVAL;
	if (ldns_str2rdf_dname(&rdf, text) != LDNS_STATUS_OK)
		goto out;
	ldns_dname2canonical(rdf);
	s = ldns_rdf2str(rdf);
	if (!s || strlen(s) >= DNAME_STRLEN)
		goto out;
	/* Reject empty labels and the root as a zone. */
	if (strcmp(s, ".") == 0 || strstr(s, ".."))
		goto out;
	snprintf(out, DNAME_STRLEN, "%s", s);
	ret = 0;
out:
	free(s);
	ldns_rdf_deep_free(rdf);
	return ret;
}

/* An interface name as wg-quick allows it: [A-Za-z0-9_=+.-], 1..15 characters, not "." or "..". */
static bool ifname_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '=' || *c == '+' || *c == '.' || *c == '-'))
			return false;
	return true;
}

/* Append to a dynamic array of elements of size sz; returns the new slot or NULL. */
static void *array_push(void *arrayp, size_t *n, size_t sz)
{
	void **array = arrayp;
	void *p = realloc(*array, (*n + 1) * sz);

	if (!p)
		return NULL;
	*array = p;
	memset((char *)p + *n * sz, 0, sz);
	return (char *)p + (*n)++ * sz;
}

/* Split a comma-separated list of CIDRs into an array. */
static int parse_cidr_list(const char *value, struct cidr **arr, size_t *n)
{
	char buf[CONFIG_LINE_MAX];
	char *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", value);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		char *e = tok + strlen(tok);
		while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		struct cidr c;
		if (cidr_parse(tok, false, &c) < 0)
			return -EINVAL;
		struct cidr *slot = array_push(arr, n, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = c;
	}
	return 0;
}

/* Mark scalar key bit as seen; false if it was already set in this section. */
static bool first_time(struct parse_state *st, int bit)
{
	unsigned long m = 1UL << bit;

	if (st->seen & m)
		return false;
	st->seen |= m;
	return true;
}

/* Handle a key in [daemon]. */
static void handle_daemon(struct parse_state *st, const char *key, const char *value)
{
	struct config *cfg = st->cfg;

	if (strcmp(key, "log-level") == 0) {
		if (!first_time(st, 0))
			goto dup;
		if (log_level_parse(value, &cfg->log_level) < 0)
			perr(st, st->line, key, "'%s' is not one of error, warning, info, debug", value);
	} else if (strcmp(key, "status-socket") == 0) {
		if (!first_time(st, 1))
			goto dup;
		if (value[0] != '/')
			perr(st, st->line, key, "'%s' must be an absolute path", value);
		else if (strlen(value) >= sizeof(cfg->status_socket))
			perr(st, st->line, key, "path is longer than %zu bytes", sizeof(cfg->status_socket) - 1);
		else
			snprintf(cfg->status_socket, sizeof(cfg->status_socket), "%s", value);
	} else if (strcmp(key, "state-directory") == 0) {
		if (!first_time(st, 2))
			goto dup;
		if (value[0] != '/')
			perr(st, st->line, key, "'%s' must be an absolute path", value);
		else if (strlen(value) >= sizeof(cfg->state_directory))
			perr(st, st->line, key, "path is longer than %zu bytes", sizeof(cfg->state_directory) - 1);
		else
			snprintf(cfg->state_directory, sizeof(cfg->state_directory), "%s", value);
	} else {
		perr(st, st->line, key, "unknown key (known: log-level, status-socket, state-directory)");
	}
	return;
dup:
	perr(st, st->line, key, "set twice in this section (only repeatable keys may repeat)");
}

/* True when a is the wildcard address of its family. */
static bool addr_is_wildcard(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	return a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
}

/* True when one of two same-family listeners on one port is the wildcard and the other is not. */
static bool listen_overlap(const union sockaddr_any *a, const union sockaddr_any *b)
{
	return a->sa.sa_family == b->sa.sa_family && addr_port(a) == addr_port(b) &&
	       addr_is_wildcard(a) != addr_is_wildcard(b);
}

/* Handle a key in [registry]. */
static void handle_registry(struct parse_state *st, const char *key, const char *value)
{
	struct config_registry *r = &st->cfg->registry;
	unsigned long v;
	unsigned int ms;

	if (strcmp(key, "listen") == 0) {
		union sockaddr_any a;
		if (addr_parse(value, 53, &a) < 0 || addr_port(&a) == 0) {
			perr(st, st->line, key, "'%s' is not an address: use IPv4[:port] or [IPv6][:port], port 1..65535", value);
			return;
		}
		for (size_t i = 0; i < r->n_listens; i++) {
			if (addr_equal(&r->listens[i], &a)) {
				perr(st, st->line, key, "'%s' is listed twice", value);
				return;
			}
			/*
			 * Linux refuses a specific address on the port of a same-family wildcard
			 * listener (EADDRINUSE even with SO_REUSEADDR, for TCP); only SO_REUSEPORT
			 * would allow it, and it would also let another process share the port.
			 */
			if (listen_overlap(&r->listens[i], &a)) {
				char other[ADDR_STRLEN];
				perr(st, st->line, key, "'%s' and '%s' share a port and the wildcard already answers on "
				     "every address: keep one of them", value, addr_format(&r->listens[i], other, sizeof(other)));
				return;
			}
		}
		union sockaddr_any *slot = array_push(&r->listens, &r->n_listens, sizeof(*slot));
		if (!slot)
			perr(st, st->line, key, "out of memory");
		else
			*slot = a;
	} else if (strcmp(key, "access") == 0) {
		/* A CIDR list may go on over several access lines; any/peers only once. */
		bool more_cidrs = r->access == ACCESS_CIDR && strcmp(value, "any") && strcmp(value, "peers");
		if (!first_time(st, 0) && !more_cidrs)
			goto dup;
		if (strcmp(value, "any") == 0) {
			r->access = ACCESS_ANY;
		} else if (strcmp(value, "peers") == 0) {
			r->access = ACCESS_PEERS;
		} else {
			r->access = ACCESS_CIDR;
			if (parse_cidr_list(value, &r->access_cidrs, &r->n_access_cidrs) < 0 || r->n_access_cidrs == 0)
				perr(st, st->line, key, "'%s' is not 'any', 'peers' or a list of CIDR prefixes (host bits must be zero)", value);
		}
	} else if (strcmp(key, "ttl") == 0) {
		if (!first_time(st, 1))
			goto dup;
		if (parse_uint(value, 0, 2147483647UL, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number of seconds 0..2147483647", value);
		else
			r->ttl = (uint32_t)v;
	} else if (strcmp(key, "edns-size") == 0) {
		if (!first_time(st, 2))
			goto dup;
		if (parse_uint(value, 512, 4096, &v) < 0)
			perr(st, st->line, key, "'%s' is not a size 512..4096", value);
		else
			r->edns_size = (uint16_t)v;
	} else if (strcmp(key, "tcp-max-connections") == 0) {
		if (!first_time(st, 3))
			goto dup;
		if (parse_uint(value, 1, 65536, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number 1..65536", value);
		else
			r->tcp_max_conns = (unsigned int)v;
	} else if (strcmp(key, "tcp-idle-timeout") == 0) {
		if (!first_time(st, 4))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 100 || ms > 3600000)
			perr(st, st->line, key, "'%s' is not a duration between 100ms and 1h", value);
		else
			r->tcp_idle_timeout_ms = ms;
	} else if (strcmp(key, "candidates-per-peer") == 0) {
		if (!first_time(st, 20))
			goto dup;
		if (parse_uint(value, 0, CAND_PEER_MAX, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number 0..%d", value, CAND_PEER_MAX);
		else
			r->cand_per_peer = (unsigned int)v;
	} else if (strcmp(key, "candidates-max") == 0) {
		if (!first_time(st, 21))
			goto dup;
		if (parse_uint(value, 0, 1000000, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number 0..1000000", value);
		else
			r->cand_max = (unsigned int)v;
	} else if (strcmp(key, "candidate-lease-max") == 0) {
		if (!first_time(st, 22))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 30000 || ms > 86400000)
			perr(st, st->line, key, "'%s' is not a duration between 30s and 24h", value);
		else
			r->cand_lease_max_ms = ms;
	} else {
		perr(st, st->line, key, "unknown key (known: listen, access, ttl, edns-size, tcp-max-connections, tcp-idle-timeout, candidates-per-peer, candidates-max, candidate-lease-max)");
	}
	return;
dup:
	perr(st, st->line, key, "set twice in this section (only repeatable keys may repeat)");
}

/* Parse yes/no (also true/false, on/off, 1/0). */
static int parse_bool(const char *text, bool *out)
{
	if (!strcmp(text, "yes") || !strcmp(text, "true") || !strcmp(text, "on") || !strcmp(text, "1"))
		*out = true;
	else if (!strcmp(text, "no") || !strcmp(text, "false") || !strcmp(text, "off") || !strcmp(text, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/*
 * Split "WORD [key NAME]" into the word and the normalized key name ("" when
 * there is none). 0 or -EINVAL.
 */
static int split_key_suffix(const char *value, char *word, size_t word_size, char key[DNAME_STRLEN])
{
	char buf[CONFIG_LINE_MAX];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", value);
	char *w = strtok_r(buf, " \t", &save);
	char *k = strtok_r(NULL, " \t", &save);
	char *name = strtok_r(NULL, " \t", &save);
	if (!w || strlen(w) >= word_size || strtok_r(NULL, " \t", &save))
		return -EINVAL;
	snprintf(word, word_size, "%s", w);
	key[0] = '\0';
	if (!k)
		return 0;
	if (strcmp(k, "key") != 0 || !name)
		return -EINVAL;
	return parse_dname(name, key);
}

/* Parse an allow-transfer value: "ADDRESS[/PREFIX] [key NAME]" or "any key NAME". */
static int parse_xfr_acl(const char *value, struct config_xfr_acl *out)
{
	char word[CIDR_STRLEN + 8];

	memset(out, 0, sizeof(*out));
	if (split_key_suffix(value, word, sizeof(word), out->key) < 0)
		return -EINVAL;
	if (strcmp(word, "any") == 0) {
		out->any = true;
		return out->key[0] ? 0 : -EINVAL;
	}
	return cidr_parse(word, false, &out->prefix);
}

/* Parse a notify value: "ADDRESS[:PORT] [key NAME]". */
static int parse_notify(const char *value, struct config_notify *out)
{
	char word[ADDR_STRLEN + 8];

	memset(out, 0, sizeof(*out));
	if (split_key_suffix(value, word, sizeof(word), out->key) < 0)
		return -EINVAL;
	if (addr_parse(word, 53, &out->addr) < 0 || addr_port(&out->addr) == 0)
		return -EINVAL;
	return 0;
}

/* True when text is plain base64 (letters, digits, + /, padding at the end only). */
static bool base64_chars(const char *text)
{
	size_t n = strlen(text), pad = 0;

	if (n == 0 || n % 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return pad <= 2;
}

/* Decoded length of a base64 secret, or -EINVAL. */
static int secret_len(const char *text)
{
	ldns_rdf *rdf = NULL;
	int n;

	if (!base64_chars(text) || ldns_str2rdf_b64(&rdf, text) != LDNS_STATUS_OK || !rdf)
		return -EINVAL;
	n = (int)ldns_rdf_size(rdf);
	ldns_rdf_deep_free(rdf);
	return n;
}

/* Handle a key in [key NAME]. */
static void handle_key(struct parse_state *st, const char *key, const char *value)
{
	struct config_key *k = &st->cfg->keys[st->index];

	if (strcmp(key, "algorithm") == 0) {
		if (!first_time(st, 0))
			goto dup;
		if (strcmp(value, "hmac-sha256") != 0)
			perr(st, st->line, key, "'%s' is not supported (known: hmac-sha256)", value);
	} else if (strcmp(key, "secret") == 0) {
		if (!first_time(st, 1))
			goto dup;
		int n = strlen(value) <= TSIG_SECRET_B64_MAX ? secret_len(value) : -EINVAL;
		/* RFC 8945 6: a key shorter than half the hash output weakens the MAC. */
		if (n < 16 || n > 512)
			perr(st, st->line, key, "not a base64 secret of 16..512 bytes (e.g. from: head -c 32 /dev/urandom | base64)");
		else
			snprintf(k->secret, sizeof(k->secret), "%s", value);
	} else {
		perr(st, st->line, key, "unknown key (known: algorithm, secret)");
	}
	return;
dup:
	perr(st, st->line, key, "set twice in this section (only repeatable keys may repeat)");
}

/* Parse a byte rate: a number with an optional k, M or G (powers of 1000); 0 = none. */
static int parse_rate(const char *text, uint64_t *out)
{
	unsigned long long v, mult = 1;
	char *end;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	if (strcmp(end, "k") == 0 || strcmp(end, "K") == 0)
		mult = 1000;
	else if (strcmp(end, "M") == 0)
		mult = 1000000;
	else if (strcmp(end, "G") == 0)
		mult = 1000000000;
	else if (*end)
		return -EINVAL;
	if (v > 100000000000ULL / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/* Handle a key in [relay]. */
static void handle_relay(struct parse_state *st, const char *key, const char *value)
{
	struct config_relay *r = &st->cfg->relay;
	unsigned long v, lo, hi;
	unsigned int ms;

	if (strcmp(key, "address") == 0) {
		union sockaddr_any a;
		if (addr_parse(value, 0, &a) < 0 || addr_port(&a) != 0) {
			perr(st, st->line, key, "'%s' is not an IPv4 or IPv6 address (without port)", value);
			return;
		}
		addr_unmap_v4(&a);
		/* The address is bound and published: it must be one other hosts can send to (loopback: tests). */
		union sockaddr_any p = a;
		if (p.sa.sa_family == AF_INET)
			p.in.sin_port = htons(1);
		else
			p.in6.sin6_port = htons(1);
		enum addr_ep why = addr_endpoint_check(&p);
		if (why != ADDR_EP_OK && why != ADDR_EP_LOOPBACK) {
			perr(st, st->line, key, "'%s' cannot be a relay address: %s", value, addr_endpoint_reason(why));
			return;
		}
		for (size_t i = 0; i < r->n_addrs; i++)
			if (r->addrs[i].sa.sa_family == a.sa.sa_family) {
				perr(st, st->line, key, "one address per family: '%s' is the second %s address", value,
				     a.sa.sa_family == AF_INET ? "IPv4" : "IPv6");
				return;
			}
		r->addrs[r->n_addrs++] = a;
	} else if (strcmp(key, "ports") == 0) {
		char lo_s[16], hi_s[16];
		const char *dash = strchr(value, '-');
		if (!first_time(st, 0))
			goto dup;
		if (!dash || (size_t)(dash - value) >= sizeof(lo_s) || strlen(dash + 1) >= sizeof(hi_s)) {
			perr(st, st->line, key, "'%s' is not a port range LOW-HIGH", value);
			return;
		}
		memcpy(lo_s, value, (size_t)(dash - value));
		lo_s[dash - value] = '\0';
		snprintf(hi_s, sizeof(hi_s), "%s", dash + 1);
		if (parse_uint(lo_s, 1, 65535, &lo) < 0 || parse_uint(hi_s, 1, 65535, &hi) < 0 || hi <= lo)
			perr(st, st->line, key, "'%s' is not a port range LOW-HIGH of at least two ports in 1..65535", value);
		else {
			r->port_min = (uint16_t)lo;
			r->port_max = (uint16_t)hi;
		}
	} else if (strcmp(key, "max-allocations") == 0) {
		if (!first_time(st, 1))
			goto dup;
		if (parse_uint(value, 1, 65536, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number 1..65536", value);
		else
			r->max_allocs = (unsigned int)v;
	} else if (strcmp(key, "idle-timeout") == 0) {
		if (!first_time(st, 2))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms > 86400000)
			perr(st, st->line, key, "'%s' is not a duration between 1s and 24h", value);
		else
			r->idle_timeout_ms = ms;
	} else if (strcmp(key, "rate-limit") == 0) {
		if (!first_time(st, 3))
			goto dup;
		if (parse_rate(value, &r->rate_bps) < 0)
			perr(st, st->line, key, "'%s' is not a rate in bytes per second (0 = none; suffix k, M or G)", value);
	} else {
		perr(st, st->line, key, "unknown key (known: address, ports, max-allocations, idle-timeout, rate-limit)");
	}
	return;
dup:
	perr(st, st->line, key, "set twice in this section (only repeatable keys may repeat)");
}

/* Handle a key in [zone NAME]. */
static void handle_zone(struct parse_state *st, const char *key, const char *value)
{
	struct config_zone *z = &st->cfg->zones[st->index];
	unsigned int ms;

	if (strcmp(key, "device") == 0) {
		if (!first_time(st, 0))
			goto dup;
		if (!ifname_valid(value))
			perr(st, st->line, key, "'%s' is not an interface name (1..%d of A-Z a-z 0-9 _ = + . -)", value, IFNAMSIZ - 1);
		else
			snprintf(z->device, sizeof(z->device), "%s", value);
	} else if (strcmp(key, "backend") == 0) {
		if (!first_time(st, 1))
			goto dup;
		if (wg_backend_parse(value, &z->backend) < 0)
			perr(st, st->line, key, "'%s' is not one of auto, kernel, userspace", value);
	} else if (strcmp(key, "self") == 0) {
		if (!first_time(st, 2))
			goto dup;
		if (strcmp(value, "auto") == 0) {
			z->self = SELF_AUTO;
		} else if (addr_parse(value, -1, &z->self_endpoint) == 0 && addr_port(&z->self_endpoint) != 0) {
			z->self = SELF_FIXED;
		} else {
			perr(st, st->line, key, "'%s' is not 'auto' or IPv4:port / [IPv6]:port", value);
		}
	} else if (strcmp(key, "self-allowed-ips") == 0) {
		if (parse_cidr_list(value, &z->self_allowed_ips, &z->n_self_allowed_ips) < 0)
			perr(st, st->line, key, "'%s' is not a list of CIDR prefixes (host bits must be zero)", value);
	} else if (strcmp(key, "ns") == 0) {
		if (!first_time(st, 3))
			goto dup;
		if (parse_dname(value, z->ns) < 0)
			perr(st, st->line, key, "'%s' is not a domain name", value);
	} else if (strcmp(key, "ns-address") == 0) {
		union sockaddr_any a;
		if (addr_parse(value, 0, &a) < 0) {
			perr(st, st->line, key, "'%s' is not an IPv4 or IPv6 address", value);
			return;
		}
		union sockaddr_any *slot = array_push(&z->ns_addrs, &z->n_ns_addrs, sizeof(*slot));
		if (!slot)
			perr(st, st->line, key, "out of memory");
		else
			*slot = a;
	} else if (strcmp(key, "refresh") == 0) {
		if (!first_time(st, 4))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < MIN_REFRESH_MS || ms > 3600000)
			perr(st, st->line, key, "'%s' is not a duration between %dms and 1h", value, MIN_REFRESH_MS);
		else
			z->refresh_ms = ms;
	} else if (strcmp(key, "soa-refresh") == 0 || strcmp(key, "soa-retry") == 0 || strcmp(key, "soa-expire") == 0) {
		bool refresh = strcmp(key, "soa-refresh") == 0, retry = strcmp(key, "soa-retry") == 0;
		int bit = refresh ? 5 : retry ? 6 : 7;
		uint32_t *slot = refresh ? &z->soa_refresh_s : retry ? &z->soa_retry_s : &z->soa_expire_s;
		if (!first_time(st, bit))
			goto dup;
		/* RFC 1982 serial arithmetic and RFC 2308 keep SOA timers below 2^31 seconds; whole seconds only. */
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms % 1000 || ms / 1000 > 2419200)
			perr(st, st->line, key, "'%s' is not a whole number of seconds between 1s and 4 weeks", value);
		else
			*slot = ms / 1000;
	} else if (strcmp(key, "allow-transfer") == 0) {
		struct config_xfr_acl acl;
		if (parse_xfr_acl(value, &acl) < 0) {
			perr(st, st->line, key, "'%s' is not 'ADDRESS[/PREFIX] [key NAME]' or 'any key NAME'", value);
			return;
		}
		struct config_xfr_acl *slot = array_push(&z->allow_transfer, &z->n_allow_transfer, sizeof(*slot));
		if (!slot)
			perr(st, st->line, key, "out of memory");
		else
			memcpy(slot, &acl, sizeof(acl));   /* padding included: config_zone_equal compares bytes */
	} else if (strcmp(key, "notify") == 0) {
		struct config_notify n;
		if (parse_notify(value, &n) < 0) {
			perr(st, st->line, key, "'%s' is not 'ADDRESS[:PORT] [key NAME]' (IPv4[:port] or [IPv6][:port])", value);
			return;
		}
		for (size_t i = 0; i < z->n_notify; i++)
			if (addr_equal(&z->notify[i].addr, &n.addr)) {
				perr(st, st->line, key, "'%s' is listed twice", value);
				return;
			}
		struct config_notify *slot = array_push(&z->notify, &z->n_notify, sizeof(*slot));
		if (!slot)
			perr(st, st->line, key, "out of memory");
		else
			memcpy(slot, &n, sizeof(n));
	} else if (strcmp(key, "peer-transfers") == 0) {
		if (!first_time(st, 8))
			goto dup;
		if (parse_bool(value, &z->peer_transfers) < 0)
			perr(st, st->line, key, "'%s' is not yes or no", value);
	} else if (strcmp(key, "ixfr-history") == 0) {
		unsigned long v;
		if (!first_time(st, 9))
			goto dup;
		if (parse_uint(value, 0, 100000, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number of serials 0..100000", value);
		else
			z->ixfr_history = (unsigned int)v;
	} else {
		perr(st, st->line, key, "unknown key (known: device, backend, self, self-allowed-ips, ns, ns-address, refresh, "
		     "soa-refresh, soa-retry, soa-expire, allow-transfer, notify, peer-transfers, ixfr-history)");
	}
	return;
dup:
	perr(st, st->line, key, "set twice in this section (only repeatable keys may repeat)");
}

/* Parse "candidates = auto | none | ADDR[:PORT], ..." ("auto" may come with addresses). */
static void parse_candidates(struct parse_state *st, struct config_client *c, const char *key, const char *value)
{
	char buf[CONFIG_LINE_MAX];
	char *save = NULL, *tok;
	bool none = false, any = false, gather = false;

	snprintf(buf, sizeof(buf), "%s", value);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		union sockaddr_any a;
		while (*tok == ' ' || *tok == '\t')
			tok++;
		char *e = tok + strlen(tok);
		while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		any = true;
		if (strcmp(tok, "none") == 0) {
			none = true;
			continue;
		}
		if (strcmp(tok, "auto") == 0) {
			gather = true;
			continue;
		}
		enum addr_ep why = ADDR_EP_NONE;
		if (addr_parse(tok, 0, &a) == 0) {
			why = addr_endpoint_check(&a);
			if (why == ADDR_EP_PORT_ZERO)
				why = ADDR_EP_OK;   /* no port: the device's listen port */
		}
		if (why != ADDR_EP_OK) {
			perr(st, st->line, key, "'%s' is not 'auto', 'none' or an address others can send to (IPv4[:port], [IPv6][:port])", tok);
			return;
		}
		union sockaddr_any *slot = array_push(&c->cand_statics, &c->n_cand_statics, sizeof(*slot));
		if (!slot) {
			perr(st, st->line, key, "out of memory");
			return;
		}
		*slot = a;
	}
	if (!any || (none && (gather || c->n_cand_statics)))
		perr(st, st->line, key, "'%s': 'none' stands alone; otherwise 'auto' and/or addresses", value);
	/* Addresses without "auto": only those. */
	c->cand_none = none || !gather;
}

/* Handle a key in [client DEV]. */
static void handle_client(struct parse_state *st, const char *key, const char *value)
{
	struct config_client *c = &st->cfg->clients[st->index];
	unsigned long v;
	unsigned int ms;

	if (strcmp(key, "registry") == 0) {
		union sockaddr_any a;
		if (addr_parse(value, 53, &a) < 0 || addr_port(&a) == 0) {
			perr(st, st->line, key, "'%s' is not an address: use IPv4[:port] or [IPv6][:port], port 1..65535", value);
			return;
		}
		union sockaddr_any *slot = array_push(&c->registries, &c->n_registries, sizeof(*slot));
		if (!slot)
			perr(st, st->line, key, "out of memory");
		else
			*slot = a;
	} else if (strcmp(key, "zone") == 0) {
		if (!first_time(st, 0))
			goto dup;
		if (parse_dname(value, c->zone) < 0)
			perr(st, st->line, key, "'%s' is not a domain name", value);
	} else if (strcmp(key, "interval") == 0) {
		if (!first_time(st, 1))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms > 86400000)
			perr(st, st->line, key, "'%s' is not a duration between 1s and 24h", value);
		else
			c->interval_ms = ms;
	} else if (strcmp(key, "handshake-timeout") == 0) {
		if (!first_time(st, 2))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms > 86400000)
			perr(st, st->line, key, "'%s' is not a duration between 1s and 24h", value);
		else
			c->handshake_timeout_ms = ms;
	} else if (strcmp(key, "keepalive") == 0) {
		if (!first_time(st, 3))
			goto dup;
		if (parse_uint(value, 0, 65535, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number of seconds 0..65535", value);
		else
			c->keepalive = (int)v;
	} else if (strcmp(key, "exclude") == 0) {
		uint8_t k[WG_KEY_LEN];
		if (key_from_base64(value, k) < 0) {
			perr(st, st->line, key, "'%s' is not a base64 WireGuard public key", value);
			return;
		}
		uint8_t (*slot)[WG_KEY_LEN] = array_push(&c->exclude, &c->n_exclude, sizeof(*slot));
		if (!slot)
			perr(st, st->line, key, "out of memory");  /* never drop an exclusion silently */
		else
			memcpy(*slot, k, WG_KEY_LEN);
	} else if (strcmp(key, "backend") == 0) {
		if (!first_time(st, 4))
			goto dup;
		if (wg_backend_parse(value, &c->backend) < 0)
			perr(st, st->line, key, "'%s' is not one of auto, kernel, userspace", value);
	} else if (strcmp(key, "timeout") == 0) {
		if (!first_time(st, 5))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 10 || ms > 60000)
			perr(st, st->line, key, "'%s' is not a duration between 10ms and 60s", value);
		else
			c->timeout_ms = ms;
	} else if (strcmp(key, "max-inflight") == 0) {
		if (!first_time(st, 6))
			goto dup;
		if (parse_uint(value, 1, 4096, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number 1..4096", value);
		else
			c->max_inflight = (unsigned int)v;
	} else if (strcmp(key, "relay") == 0) {
		if (!first_time(st, 7))
			goto dup;
		if (strcmp(value, "auto") == 0)
			c->relay = true;
		else if (strcmp(value, "off") == 0)
			c->relay = false;
		else
			perr(st, st->line, key, "'%s' is not one of auto, off", value);
	} else if (strcmp(key, "relay-after") == 0) {
		if (!first_time(st, 8))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms > 86400000)
			perr(st, st->line, key, "'%s' is not a duration between 1s and 24h", value);
		else
			c->relay_after_ms = ms;
	} else if (strcmp(key, "relay-retry") == 0) {
		if (!first_time(st, 22))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms > 86400000)
			perr(st, st->line, key, "'%s' is not a duration between 1s and 24h", value);
		else
			c->relay_retry_ms = ms;
	} else if (strcmp(key, "peers") == 0) {
		if (!first_time(st, 9))
			goto dup;
		if (strcmp(value, "existing") == 0)
			c->peers = PEERS_EXISTING;
		else if (strcmp(value, "auto") == 0)
			c->peers = PEERS_AUTO;
		else
			perr(st, st->line, key, "'%s' is not one of existing, auto", value);
	} else if (strcmp(key, "auto-allowed-ips") == 0) {
		if (parse_cidr_list(value, &c->auto_allowed, &c->n_auto_allowed) < 0)
			perr(st, st->line, key, "'%s' is not a list of CIDR prefixes (host bits must be zero)", value);
		st->auto_keys_line = st->line;
	} else if (strcmp(key, "auto-max-peers") == 0) {
		if (!first_time(st, 10))
			goto dup;
		if (parse_uint(value, 1, MAX_AUTO_MAX_PEERS, &v) < 0)
			perr(st, st->line, key, "'%s' is not a number 1..%d", value, MAX_AUTO_MAX_PEERS);
		else
			c->auto_max_peers = (unsigned int)v;
		st->auto_keys_line = st->line;
	} else if (strcmp(key, "auto-remove-after") == 0) {
		if (!first_time(st, 11))
			goto dup;
		if (strcmp(value, "never") == 0) {
			c->auto_remove_never = true;
		} else if (config_parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms > 30u * 86400000u) {
			perr(st, st->line, key, "'%s' is not 'never' or a duration between 1s and 30 days", value);
		} else {
			c->auto_remove_never = false;
			c->auto_remove_after_ms = ms;
		}
		st->auto_keys_line = st->line;
	} else if (strcmp(key, "port-mapping") == 0) {
		if (!first_time(st, 16))
			goto dup;
		if (config_portmap_mode_parse(value, &c->port_mapping) < 0)
			perr(st, st->line, key, "'%s' is not one of auto, off, pcp, natpmp, upnp", value);
	} else if (strcmp(key, "port-mapping-lifetime") == 0) {
		if (!first_time(st, 17))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 2000 || ms > 86400000)
			perr(st, st->line, key, "'%s' is not a duration between 2s and 24h", value);
		else
			c->port_mapping_lifetime_ms = ms;
	} else if (strcmp(key, "candidates") == 0) {
		if (!first_time(st, 20))
			goto dup;
		parse_candidates(st, c, key, value);
	} else if (strcmp(key, "candidate-exclude") == 0) {
		int r = parse_cidr_list(value, &c->cand_exclude, &c->n_cand_exclude);
		if (r == -ENOMEM)
			perr(st, st->line, key, "out of memory");
		else if (r < 0)
			perr(st, st->line, key, "'%s' is not a list of CIDR prefixes (host bits must be zero)", value);
	} else if (strcmp(key, "candidate-timeout") == 0) {
		if (!first_time(st, 21))
			goto dup;
		if (config_parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms > 60000)
			perr(st, st->line, key, "'%s' is not a duration between 1s and 60s", value);
		else
			c->cand_timeout_ms = ms;
	} else {
		perr(st, st->line, key, "unknown key (known: registry, zone, interval, handshake-timeout, keepalive, exclude, backend, timeout, max-inflight, relay, relay-after, relay-retry, peers, auto-allowed-ips, auto-max-peers, auto-remove-after, port-mapping, port-mapping-lifetime, candidates, candidate-exclude, candidate-timeout)");
	}
	return;
dup:
	perr(st, st->line, key, "set twice in this section (only repeatable keys may repeat)");
}

/* inih callback: one key = value in the section the reader last saw. */
static int handler_cb(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *st = user;

	(void)section;
	switch (st->kind) {
	case SEC_NONE:
		perr(st, st->line, key, "key outside of any section");
		break;
	case SEC_DAEMON:
		handle_daemon(st, key, value);
		break;
	case SEC_REGISTRY:
		handle_registry(st, key, value);
		break;
	case SEC_RELAY:
		handle_relay(st, key, value);
		break;
	case SEC_ZONE:
		handle_zone(st, key, value);
		break;
	case SEC_KEY:
		handle_key(st, key, value);
		break;
	case SEC_CLIENT:
		handle_client(st, key, value);
		break;
	case SEC_BAD:
		break;  /* the section header was reported already */
	}
	return 1;
}

/* Checks of the section that ends (its keys all read): auto-* keys belong to peers = auto. */
static void finish_section(struct parse_state *st)
{
	struct config_client *c;

	if (st->kind != SEC_CLIENT)
		return;
	c = &st->cfg->clients[st->index];
	if (c->peers != PEERS_AUTO && st->auto_keys_line)
		perr(st, st->auto_keys_line, NULL, "auto-allowed-ips, auto-max-peers and auto-remove-after need 'peers = auto'");
	st->kind = SEC_NONE;
}

/* Start a new section from a header line "[...]" (without brackets in name). */
static void begin_section(struct parse_state *st, const char *name)
{
	struct config *cfg = st->cfg;
	char arg[DNAME_STRLEN + 16];
	const char *sp = strchr(name, ' ');

	finish_section(st);
	snprintf(st->section, sizeof(st->section), "%s", name);
	st->seen = 0;
	st->auto_keys_line = 0;
	st->kind = SEC_BAD;
	arg[0] = '\0';
	if (sp) {
		const char *a = sp;
		while (*a == ' ' || *a == '\t')
			a++;
		snprintf(arg, sizeof(arg), "%s", a);
	}
	if (strcmp(name, "daemon") == 0) {
		if (st->seen_daemon) {
			perr(st, st->line, NULL, "section appears twice");
			return;
		}
		st->seen_daemon = true;
		st->kind = SEC_DAEMON;
	} else if (strcmp(name, "registry") == 0) {
		if (cfg->registry.enabled) {
			perr(st, st->line, NULL, "section appears twice");
			return;
		}
		cfg->registry.enabled = true;
		st->kind = SEC_REGISTRY;
	} else if (strcmp(name, "relay") == 0) {
		if (cfg->relay.enabled) {
			perr(st, st->line, NULL, "section appears twice");
			return;
		}
		cfg->relay.enabled = true;
		st->kind = SEC_RELAY;
	} else if (strncmp(name, "zone", 4) == 0 && (name[4] == ' ' || name[4] == '\0')) {
		char zname[DNAME_STRLEN];
		if (!arg[0]) {
			perr(st, st->line, NULL, "a zone section needs a name: [zone example.com.]");
			return;
		}
		if (parse_dname(arg, zname) < 0) {
			perr(st, st->line, NULL, "'%s' is not a domain name", arg);
			return;
		}
		if (config_find_zone(cfg, zname)) {
			perr(st, st->line, NULL, "zone %s is defined twice", zname);
			return;
		}
		struct config_zone *z = array_push(&cfg->zones, &cfg->n_zones, sizeof(*z));
		if (!z) {
			perr(st, st->line, NULL, "out of memory");
			return;
		}
		snprintf(z->name, sizeof(z->name), "%s", zname);
		z->refresh_ms = DEFAULT_REFRESH_MS;
		z->soa_refresh_s = DEFAULT_SOA_REFRESH_S;
		z->soa_retry_s = DEFAULT_SOA_RETRY_S;
		z->soa_expire_s = DEFAULT_SOA_EXPIRE_S;
		z->peer_transfers = true;
		z->ixfr_history = DEFAULT_IXFR_HISTORY;
		st->index = cfg->n_zones - 1;
		st->kind = SEC_ZONE;
	} else if (strncmp(name, "key", 3) == 0 && (name[3] == ' ' || name[3] == '\0')) {
		char kname[DNAME_STRLEN];
		if (!arg[0] || parse_dname(arg, kname) < 0) {
			perr(st, st->line, NULL, "a key section needs a domain name: [key xfr.example.com.]");
			return;
		}
		if (config_find_key(cfg, kname)) {
			perr(st, st->line, NULL, "key %s is defined twice", kname);
			return;
		}
		struct config_key *k = array_push(&cfg->keys, &cfg->n_keys, sizeof(*k));
		if (!k) {
			perr(st, st->line, NULL, "out of memory");
			return;
		}
		snprintf(k->name, sizeof(k->name), "%s", kname);
		st->index = cfg->n_keys - 1;
		st->kind = SEC_KEY;
	} else if (strncmp(name, "client", 6) == 0 && (name[6] == ' ' || name[6] == '\0')) {
		if (!ifname_valid(arg)) {
			perr(st, st->line, NULL, "a client section needs an interface name: [client wg0]");
			return;
		}
		if (config_find_client(cfg, arg)) {
			perr(st, st->line, NULL, "client section for %s is defined twice", arg);
			return;
		}
		struct config_client *c = array_push(&cfg->clients, &cfg->n_clients, sizeof(*c));
		if (!c) {
			perr(st, st->line, NULL, "out of memory");
			return;
		}
		snprintf(c->device, sizeof(c->device), "%s", arg);
		c->interval_ms = DEFAULT_INTERVAL_MS;
		c->handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_MS;
		c->timeout_ms = DEFAULT_QUERY_TIMEOUT_MS;
		c->max_inflight = DEFAULT_MAX_INFLIGHT;
		c->cand_timeout_ms = DEFAULT_CAND_TIMEOUT_MS;
		c->relay = true;
		c->relay_after_ms = DEFAULT_RELAY_AFTER_MS;
		c->relay_retry_ms = DEFAULT_RELAY_RETRY_MS;
		c->auto_max_peers = DEFAULT_AUTO_MAX_PEERS;
		c->auto_remove_after_ms = DEFAULT_AUTO_REMOVE_AFTER_MS;
		c->port_mapping_lifetime_ms = DEFAULT_PORT_MAPPING_LIFETIME_MS;
		st->index = cfg->n_clients - 1;
		st->kind = SEC_CLIENT;
	} else {
		perr(st, st->line, NULL, "unknown section (known: daemon, registry, relay, zone NAME, key NAME, client DEVICE)");
	}
}

/* Read one raw line (with its newline) from the file or string; NULL at the end. */
static char *read_raw(struct parse_state *st, char *buf, size_t size)
{
	if (st->file) {
		/* Byte by byte, so a NUL inside a line is seen instead of silently ending it. */
		size_t i = 0;
		int c = EOF;
		while (i + 1 < size && (c = getc(st->file)) != EOF) {
			if (c == '\0') {
				st->nul_seen = true;
				continue;
			}
			buf[i++] = (char)c;
			if (c == '\n')
				break;
		}
		buf[i] = '\0';
		return (i == 0 && c == EOF) ? NULL : buf;
	}
	if (!st->text[st->text_pos])
		return NULL;
	size_t i = 0;
	while (i + 1 < size && st->text[st->text_pos]) {
		char c = st->text[st->text_pos++];
		buf[i++] = c;
		if (c == '\n')
			break;
	}
	buf[i] = '\0';
	return buf;
}

/*
 * inih line reader: counts lines (so errors carry line numbers), rejects
 * over-long lines and NUL bytes, and tracks section headers itself so that
 * empty sections and unknown section names are seen too.
 */
static char *reader_cb(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	char line[CONFIG_LINE_MAX + 2];
	char *s;
	size_t len;

	st->nul_seen = false;
	if (!read_raw(st, line, sizeof(line)))
		return NULL;
	st->line++;
	st->reported_line = false;
	if (st->nul_seen) {
		perr(st, st->line, NULL, "NUL byte in the line (binary file?)");
		snprintf(line, sizeof(line), "\n");
	}
	len = strlen(line);
	if (len > 0 && line[len - 1] != '\n' && len >= CONFIG_LINE_MAX + 1) {
		char skip[256];
		perr(st, st->line, NULL, "line is longer than %d bytes", CONFIG_LINE_MAX);
		/* Skip the rest of the line. */
		while (read_raw(st, skip, sizeof(skip)) && !strchr(skip, '\n'))
			;
		line[0] = '\n';
		line[1] = '\0';
		len = 1;
	}
	/*
	 * Leading blanks are dropped: inih would otherwise take an indented
	 * line as the continuation of the previous value.
	 */
	s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	memmove(line, s, strlen(s) + 1);
	s = line;
	if (*s == '[') {
		char *close = strchr(s, ']');
		if (!close) {
			perr(st, st->line, NULL, "section header without ']'");
			st->kind = SEC_BAD;
			line[0] = '\n';
			line[1] = '\0';
		} else {
			char name[sizeof(st->section)];
			size_t n = (size_t)(close - s - 1);
			char *rest = close + 1;
			while (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n')
				rest++;
			if (*rest && *rest != ';' && *rest != '#') {
				perr(st, st->line, NULL, "text after the section header");
				st->kind = SEC_BAD;
			} else if (n >= sizeof(name)) {
				perr(st, st->line, NULL, "section name too long");
				st->kind = SEC_BAD;
			} else {
				memcpy(name, s + 1, n);
				name[n] = '\0';
				begin_section(st, name);
			}
			/* inih still sees a header, so it does not mistake keys for another section. */
			snprintf(line, sizeof(line), "[s]\n");
		}
	}
	if ((int)strlen(line) >= num) {
		/* inih's buffer is smaller than our limit: a long value would be split. */
		perr(st, st->line, NULL, "line is longer than %d bytes", num - 2);
		snprintf(line, sizeof(line), "\n");
	}
	memcpy(str, line, strlen(line) + 1);
	return str;
}

/* Check cross-section rules and fill defaults after parsing. */
static void validate(struct parse_state *st)
{
	struct config *cfg = st->cfg;
	struct config_registry *r = &cfg->registry;

	st->section[0] = '\0';
	if (!r->enabled && cfg->n_zones > 0)
		perr(st, 0, NULL, "[zone] sections need a [registry] section (it turns the registry role on)");
	if (r->enabled && cfg->n_zones == 0)
		perr(st, 0, NULL, "[registry] needs at least one [zone NAME] section to serve");
	if (!r->enabled && cfg->n_clients == 0)
		perr(st, 0, NULL, "no role configured: add [registry] with [zone NAME] sections, or [client DEVICE] sections");
	if (cfg->relay.enabled && !r->enabled)
		perr(st, 0, NULL, "[relay] needs a [registry] section (peers ask the registry for relays)");
	if (cfg->relay.enabled && cfg->relay.n_addrs == 0)
		perr(st, 0, NULL, "[relay]: missing required key 'address' (the public address peers send to)");
	if (r->enabled && r->n_listens == 0) {
		/* On a host without IPv6 the registry skips [::]:53 (only when it is a default). */
		r->listens_default = true;
		union sockaddr_any *a = array_push(&r->listens, &r->n_listens, sizeof(*a));
		if (a)
			addr_parse("0.0.0.0:53", 53, a);
		a = a ? array_push(&r->listens, &r->n_listens, sizeof(*a)) : NULL;
		if (a)
			addr_parse("[::]:53", 53, a);
		else
			perr(st, 0, NULL, "[registry]: out of memory for the default listeners");
	}
	for (size_t i = 0; i < cfg->n_zones; i++) {
		struct config_zone *z = &cfg->zones[i];
		snprintf(st->section, sizeof(st->section), "zone %s", z->name);
		if (!z->device[0])
			perr(st, 0, NULL, "[zone %s]: missing required key 'device'", z->name);
		if (!z->ns[0]) {
			if (strlen(z->name) + 4 >= DNAME_STRLEN)
				perr(st, 0, NULL, "[zone %s]: name too long for the default ns; set 'ns'", z->name);
			else
				snprintf(z->ns, sizeof(z->ns), "ns1.%s", z->name);
		}
		if (z->n_self_allowed_ips && z->self == SELF_NONE)
			perr(st, 0, NULL, "[zone %s]: 'self-allowed-ips' needs 'self'", z->name);
		for (size_t j = 0; j < z->n_allow_transfer; j++)
			if (z->allow_transfer[j].key[0] && !config_find_key(cfg, z->allow_transfer[j].key))
				perr(st, 0, NULL, "[zone %s]: allow-transfer: no [key %s] section", z->name, z->allow_transfer[j].key);
		for (size_t j = 0; j < z->n_notify; j++)
			if (z->notify[j].key[0] && !config_find_key(cfg, z->notify[j].key))
				perr(st, 0, NULL, "[zone %s]: notify: no [key %s] section", z->name, z->notify[j].key);
		/* RFC 1912 2.2: a secondary whose copy expires before it retries once more drops a good zone. */
		if (z->soa_expire_s < z->soa_refresh_s + z->soa_retry_s)
			perr(st, 0, NULL, "[zone %s]: soa-expire must be at least soa-refresh + soa-retry", z->name);
	}
	for (size_t i = 0; i < cfg->n_keys; i++)
		if (!cfg->keys[i].secret[0])
			perr(st, 0, NULL, "[key %s]: missing required key 'secret'", cfg->keys[i].name);
	if (cfg->n_keys && !r->enabled)
		perr(st, 0, NULL, "[key] sections are used by zone transfers and need a [registry] section");
	for (size_t i = 0; i < cfg->n_clients; i++) {
		struct config_client *c = &cfg->clients[i];
		if (c->n_registries == 0)
			perr(st, 0, NULL, "[client %s]: missing required key 'registry'", c->device);
		if (!c->zone[0])
			perr(st, 0, NULL, "[client %s]: missing required key 'zone'", c->device);
		if (c->peers == PEERS_AUTO && c->n_auto_allowed == 0)
			perr(st, 0, NULL, "[client %s]: 'peers = auto' needs 'auto-allowed-ips' (the prefixes added peers may route)", c->device);
	}
	st->section[0] = '\0';
}

/* Allocate a config with defaults. */
static struct config *config_new(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->log_level = LOG_LVL_INFO;
	snprintf(cfg->status_socket, sizeof(cfg->status_socket), "%s", WGSD_STATUS_SOCKET);
	snprintf(cfg->state_directory, sizeof(cfg->state_directory), "%s", WGSD_STATE_DIR);
	cfg->registry.access = ACCESS_PEERS;
	cfg->registry.ttl = DEFAULT_TTL;
	cfg->registry.edns_size = DEFAULT_EDNS_SIZE;
	cfg->registry.tcp_max_conns = DEFAULT_TCP_MAX_CONNS;
	cfg->registry.tcp_idle_timeout_ms = DEFAULT_TCP_IDLE_TIMEOUT_MS;
	cfg->registry.cand_per_peer = DEFAULT_CAND_PER_PEER;
	cfg->registry.cand_max = DEFAULT_CAND_MAX;
	cfg->registry.cand_lease_max_ms = DEFAULT_CAND_LEASE_MAX_MS;
	cfg->relay.port_min = DEFAULT_RELAY_PORT_MIN;
	cfg->relay.port_max = DEFAULT_RELAY_PORT_MAX;
	cfg->relay.max_allocs = DEFAULT_RELAY_MAX_ALLOCS;
	cfg->relay.idle_timeout_ms = DEFAULT_RELAY_IDLE_TIMEOUT_MS;
	return cfg;
}

/* Run inih over the prepared state and validate. */
static int config_parse(struct parse_state *st, struct config **out)
{
	int rc;

	rc = ini_parse_stream(reader_cb, st, handler_cb, st);
	finish_section(st);
	if (rc > 0 && rc <= st->line) {
		/* inih found a line it could not parse (no '=' or ':'). */
		st->section[0] = '\0';
		perr(st, rc, NULL, "syntax error: expected 'key = value', '[section]' or a comment");
	} else if (rc < 0) {
		perr(st, 0, NULL, "out of memory");
	}
	if (st->n_errors == 0)
		validate(st);
	if (st->n_errors > CONFIG_MAX_ERRORS)
		strbuf_printf(st->err, "%s: %d more errors not shown\n", st->name, st->n_errors - CONFIG_MAX_ERRORS);
	if (st->n_errors) {
		config_free(st->cfg);
		return -EINVAL;
	}
	*out = st->cfg;
	return 0;
}

/* Parse a file. */
int config_load(const char *path, struct config **out, struct strbuf *err)
{
	struct parse_state st = { .err = err, .name = path };
	int ret;

	*out = NULL;
	st.file = fopen(path, "re");
	if (!st.file) {
		ret = -errno;
		strbuf_printf(err, "%s: cannot open: %s\n", path, strerror(errno));
		return ret;
	}
	st.cfg = config_new();
	if (!st.cfg) {
		fclose(st.file);
		return -ENOMEM;
	}
	st.cfg->path = strdup(path);
	ret = config_parse(&st, out);
	fclose(st.file);
	return ret;
}

/* Parse text. */
int config_load_string(const char *text, const char *name, struct config **out, struct strbuf *err)
{
	struct parse_state st = { .err = err, .name = name, .text = text };

	*out = NULL;
	st.cfg = config_new();
	if (!st.cfg)
		return -ENOMEM;
	return config_parse(&st, out);
}

/* Free a config. */
void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_zones; i++)
		config_zone_clear(&cfg->zones[i]);
	for (size_t i = 0; i < cfg->n_clients; i++)
		config_client_clear(&cfg->clients[i]);
	free(cfg->zones);
	free(cfg->keys);
	free(cfg->clients);
	free(cfg->registry.listens);
	free(cfg->registry.access_cidrs);
	free(cfg->path);
	free(cfg);
}

/* Print a duration in the largest exact unit. */
static void print_duration(struct strbuf *out, const char *key, unsigned int ms)
{
	if (ms % 3600000 == 0 && ms)
		strbuf_printf(out, "%s = %uh\n", key, ms / 3600000);
	else if (ms % 60000 == 0 && ms)
		strbuf_printf(out, "%s = %um\n", key, ms / 60000);
	else if (ms % 1000 == 0)
		strbuf_printf(out, "%s = %us\n", key, ms / 1000);
	else
		strbuf_printf(out, "%s = %ums\n", key, ms);
}

/* Print a comma-separated CIDR list. */
static void print_cidrs(struct strbuf *out, const struct cidr *c, size_t n)
{
	char buf[CIDR_STRLEN];

	for (size_t i = 0; i < n; i++)
		strbuf_printf(out, "%s%s", i ? ", " : "", cidr_format(&c[i], buf, sizeof(buf)));
}

/* Write the normalized configuration. */
void config_print(const struct config *cfg, struct strbuf *out)
{
	char buf[ADDR_STRLEN];

	strbuf_printf(out, "[daemon]\nlog-level = %s\nstatus-socket = %s\nstate-directory = %s\n",
		      log_level_name(cfg->log_level), cfg->status_socket, cfg->state_directory);
	if (cfg->registry.enabled) {
		const struct config_registry *r = &cfg->registry;
		strbuf_puts(out, "\n[registry]\n");
		/* Default listeners stay defaults: written out, they would make [::]:53 mandatory. */
		for (size_t i = 0; i < r->n_listens; i++)
			strbuf_printf(out, "%slisten = %s\n", r->listens_default ? "# (default) " : "",
				      addr_format(&r->listens[i], buf, sizeof(buf)));
		if (r->access == ACCESS_ANY)
			strbuf_puts(out, "access = any\n");
		else if (r->access == ACCESS_PEERS)
			strbuf_puts(out, "access = peers\n");
		else {
			strbuf_puts(out, "access = ");
			print_cidrs(out, r->access_cidrs, r->n_access_cidrs);
			strbuf_puts(out, "\n");
		}
		strbuf_printf(out, "ttl = %u\nedns-size = %u\ntcp-max-connections = %u\n",
			      r->ttl, r->edns_size, r->tcp_max_conns);
		print_duration(out, "tcp-idle-timeout", r->tcp_idle_timeout_ms);
		strbuf_printf(out, "candidates-per-peer = %u\ncandidates-max = %u\n", r->cand_per_peer, r->cand_max);
		print_duration(out, "candidate-lease-max", r->cand_lease_max_ms);
	}
	if (cfg->relay.enabled) {
		const struct config_relay *r = &cfg->relay;
		strbuf_puts(out, "\n[relay]\n");
		for (size_t i = 0; i < r->n_addrs; i++)
			strbuf_printf(out, "address = %s\n", addr_format_ip(&r->addrs[i], buf, sizeof(buf)));
		strbuf_printf(out, "ports = %u-%u\nmax-allocations = %u\n", r->port_min, r->port_max, r->max_allocs);
		print_duration(out, "idle-timeout", r->idle_timeout_ms);
		strbuf_printf(out, "rate-limit = %llu\n", (unsigned long long)r->rate_bps);
	}
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const struct config_zone *z = &cfg->zones[i];
		strbuf_printf(out, "\n[zone %s]\ndevice = %s\nbackend = %s\n", z->name, z->device,
			      wg_backend_name(z->backend));
		if (z->self == SELF_AUTO)
			strbuf_puts(out, "self = auto\n");
		else if (z->self == SELF_FIXED)
			strbuf_printf(out, "self = %s\n", addr_format(&z->self_endpoint, buf, sizeof(buf)));
		if (z->n_self_allowed_ips) {
			strbuf_puts(out, "self-allowed-ips = ");
			print_cidrs(out, z->self_allowed_ips, z->n_self_allowed_ips);
			strbuf_puts(out, "\n");
		}
		strbuf_printf(out, "ns = %s\n", z->ns);
		for (size_t j = 0; j < z->n_ns_addrs; j++)
			strbuf_printf(out, "ns-address = %s\n", addr_format_ip(&z->ns_addrs[j], buf, sizeof(buf)));
		print_duration(out, "refresh", z->refresh_ms);
		print_duration(out, "soa-refresh", z->soa_refresh_s * 1000u);
		print_duration(out, "soa-retry", z->soa_retry_s * 1000u);
		print_duration(out, "soa-expire", z->soa_expire_s * 1000u);
		for (size_t j = 0; j < z->n_allow_transfer; j++) {
			const struct config_xfr_acl *a = &z->allow_transfer[j];
			char c[CIDR_STRLEN];
			strbuf_printf(out, "allow-transfer = %s%s%s\n", a->any ? "any" : cidr_format(&a->prefix, c, sizeof(c)),
				      a->key[0] ? " key " : "", a->key);
		}
		for (size_t j = 0; j < z->n_notify; j++)
			strbuf_printf(out, "notify = %s%s%s\n", addr_format(&z->notify[j].addr, buf, sizeof(buf)),
				      z->notify[j].key[0] ? " key " : "", z->notify[j].key);
		strbuf_printf(out, "peer-transfers = %s\nixfr-history = %u\n", z->peer_transfers ? "yes" : "no",
			      z->ixfr_history);
	}
	/* Secrets stay in the file: the output goes to terminals, logs and bug reports. */
	for (size_t i = 0; i < cfg->n_keys; i++)
		strbuf_printf(out, "\n[key %s]\nalgorithm = hmac-sha256\nsecret = %s\n", cfg->keys[i].name,
			      CONFIG_SECRET_HIDDEN);
	for (size_t i = 0; i < cfg->n_clients; i++) {
		const struct config_client *c = &cfg->clients[i];
		strbuf_printf(out, "\n[client %s]\nbackend = %s\n", c->device, wg_backend_name(c->backend));
		for (size_t j = 0; j < c->n_registries; j++)
			strbuf_printf(out, "registry = %s\n", addr_format(&c->registries[j], buf, sizeof(buf)));
		strbuf_printf(out, "zone = %s\n", c->zone);
		print_duration(out, "interval", c->interval_ms);
		print_duration(out, "handshake-timeout", c->handshake_timeout_ms);
		print_duration(out, "timeout", c->timeout_ms);
		strbuf_printf(out, "keepalive = %d\nmax-inflight = %u\nrelay = %s\n", c->keepalive, c->max_inflight,
			      c->relay ? "auto" : "off");
		print_duration(out, "relay-after", c->relay_after_ms);
		print_duration(out, "relay-retry", c->relay_retry_ms);
		strbuf_printf(out, "port-mapping = %s\n", config_portmap_mode_name(c->port_mapping));
		print_duration(out, "port-mapping-lifetime", c->port_mapping_lifetime_ms);
		for (size_t j = 0; j < c->n_exclude; j++) {
			char b64[KEY_B64_LEN + 1];
			key_to_base64(c->exclude[j], b64);
			strbuf_printf(out, "exclude = %s\n", b64);
		}
		strbuf_printf(out, "peers = %s\n", c->peers == PEERS_AUTO ? "auto" : "existing");
		if (c->peers == PEERS_AUTO) {
			strbuf_puts(out, "auto-allowed-ips = ");
			print_cidrs(out, c->auto_allowed, c->n_auto_allowed);
			strbuf_printf(out, "\nauto-max-peers = %u\n", c->auto_max_peers);
			if (c->auto_remove_never)
				strbuf_puts(out, "auto-remove-after = never\n");
			else
				print_duration(out, "auto-remove-after", c->auto_remove_after_ms);
		}
		strbuf_puts(out, "candidates = ");
		if (c->cand_none && !c->n_cand_statics)
			strbuf_puts(out, "none");
		else if (!c->cand_none)
			strbuf_puts(out, "auto");
		for (size_t j = 0; j < c->n_cand_statics; j++) {
			const union sockaddr_any *a = &c->cand_statics[j];
			strbuf_printf(out, "%s%s", j || !c->cand_none ? ", " : "",
				      addr_port(a) ? addr_format(a, buf, sizeof(buf)) : addr_format_ip(a, buf, sizeof(buf)));
		}
		strbuf_puts(out, "\n");
		if (c->n_cand_exclude) {
			strbuf_puts(out, "candidate-exclude = ");
			print_cidrs(out, c->cand_exclude, c->n_cand_exclude);
			strbuf_puts(out, "\n");
		}
		print_duration(out, "candidate-timeout", c->cand_timeout_ms);
	}
}

static const char *const portmap_mode_names[] = {
	[PORTMAP_OFF] = "off",
	[PORTMAP_AUTO] = "auto",
	[PORTMAP_PCP] = "pcp",
	[PORTMAP_NATPMP] = "natpmp",
	[PORTMAP_UPNP] = "upnp",
};

/* Name of a port-mapping mode. */
const char *config_portmap_mode_name(enum portmap_mode m)
{
	return (size_t)m < sizeof(portmap_mode_names) / sizeof(portmap_mode_names[0]) ? portmap_mode_names[m] : "?";
}

/* Parse a port-mapping mode. */
int config_portmap_mode_parse(const char *text, enum portmap_mode *out)
{
	for (size_t i = 0; i < sizeof(portmap_mode_names) / sizeof(portmap_mode_names[0]); i++) {
		if (strcmp(text, portmap_mode_names[i]) == 0) {
			*out = (enum portmap_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Find a zone by normalized name. */
const struct config_zone *config_find_zone(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_zones; i++)
		if (strcmp(cfg->zones[i].name, name) == 0)
			return &cfg->zones[i];
	return NULL;
}

/* Find a key section by normalized name. */
const struct config_key *config_find_key(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_keys; i++)
		if (strcmp(cfg->keys[i].name, name) == 0)
			return &cfg->keys[i];
	return NULL;
}

/* Find a client section by device. */
const struct config_client *config_find_client(const struct config *cfg, const char *device)
{
	for (size_t i = 0; i < cfg->n_clients; i++)
		if (strcmp(cfg->clients[i].device, device) == 0)
			return &cfg->clients[i];
	return NULL;
}

/* Compare two arrays of n elements of size sz. */
static bool array_equal(const void *a, size_t na, const void *b, size_t nb, size_t sz)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sz) == 0);
}

/* True when two zone sections are the same. */
bool config_zone_equal(const struct config_zone *a, const struct config_zone *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->device, b->device) == 0 &&
	       a->backend == b->backend && a->self == b->self &&
	       (a->self != SELF_FIXED || addr_equal(&a->self_endpoint, &b->self_endpoint)) &&
	       array_equal(a->self_allowed_ips, a->n_self_allowed_ips, b->self_allowed_ips,
			   b->n_self_allowed_ips, sizeof(struct cidr)) &&
	       strcmp(a->ns, b->ns) == 0 &&
	       array_equal(a->ns_addrs, a->n_ns_addrs, b->ns_addrs, b->n_ns_addrs, sizeof(union sockaddr_any)) &&
	       a->refresh_ms == b->refresh_ms && a->soa_refresh_s == b->soa_refresh_s &&
	       a->soa_retry_s == b->soa_retry_s && a->soa_expire_s == b->soa_expire_s &&
	       array_equal(a->allow_transfer, a->n_allow_transfer, b->allow_transfer, b->n_allow_transfer,
			   sizeof(struct config_xfr_acl)) &&
	       array_equal(a->notify, a->n_notify, b->notify, b->n_notify, sizeof(struct config_notify)) &&
	       a->peer_transfers == b->peer_transfers && a->ixfr_history == b->ixfr_history;
}

/* True when two client sections are the same. */
bool config_client_equal(const struct config_client *a, const struct config_client *b)
{
	return strcmp(a->device, b->device) == 0 && a->backend == b->backend &&
	       array_equal(a->registries, a->n_registries, b->registries, b->n_registries,
			   sizeof(union sockaddr_any)) &&
	       strcmp(a->zone, b->zone) == 0 && a->interval_ms == b->interval_ms &&
	       a->handshake_timeout_ms == b->handshake_timeout_ms && a->timeout_ms == b->timeout_ms &&
	       a->keepalive == b->keepalive && a->max_inflight == b->max_inflight &&
	       a->relay == b->relay && a->relay_after_ms == b->relay_after_ms &&
	       a->relay_retry_ms == b->relay_retry_ms &&
	       a->port_mapping == b->port_mapping &&
	       a->port_mapping_lifetime_ms == b->port_mapping_lifetime_ms &&
	       array_equal(a->exclude, a->n_exclude, b->exclude, b->n_exclude, WG_KEY_LEN) &&
	       a->peers == b->peers &&
	       array_equal(a->auto_allowed, a->n_auto_allowed, b->auto_allowed, b->n_auto_allowed,
			   sizeof(struct cidr)) &&
	       a->auto_max_peers == b->auto_max_peers && a->auto_remove_after_ms == b->auto_remove_after_ms &&
	       a->auto_remove_never == b->auto_remove_never &&
	       a->cand_none == b->cand_none && a->cand_timeout_ms == b->cand_timeout_ms &&
	       array_equal(a->cand_statics, a->n_cand_statics, b->cand_statics, b->n_cand_statics,
			   sizeof(union sockaddr_any)) &&
	       array_equal(a->cand_exclude, a->n_cand_exclude, b->cand_exclude, b->n_cand_exclude, sizeof(struct cidr));
}

/* True when two relay sections are the same. */
bool config_relay_equal(const struct config_relay *a, const struct config_relay *b)
{
	if (a->enabled != b->enabled || a->n_addrs != b->n_addrs)
		return false;
	for (size_t i = 0; i < a->n_addrs; i++)
		if (!addr_equal(&a->addrs[i], &b->addrs[i]))
			return false;
	return a->port_min == b->port_min && a->port_max == b->port_max && a->max_allocs == b->max_allocs &&
	       a->idle_timeout_ms == b->idle_timeout_ms && a->rate_bps == b->rate_bps;
}

/* Duplicate n elements of size sz into *dst (NULL for none). 0 or -ENOMEM. */
static int array_dup(void *dstp, const void *src, size_t n, size_t sz)
{
	void **dst = dstp;

	*dst = NULL;
	if (n == 0)
		return 0;
	*dst = malloc(n * sz);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * sz);
	return 0;
}

/* Deep-copy a zone section. */
int config_zone_copy(struct config_zone *dst, const struct config_zone *src)
{
	*dst = *src;
	dst->self_allowed_ips = NULL;
	dst->ns_addrs = NULL;
	dst->allow_transfer = NULL;
	dst->notify = NULL;
	if (array_dup(&dst->self_allowed_ips, src->self_allowed_ips, src->n_self_allowed_ips,
		      sizeof(*src->self_allowed_ips)) < 0 ||
	    array_dup(&dst->ns_addrs, src->ns_addrs, src->n_ns_addrs, sizeof(*src->ns_addrs)) < 0 ||
	    array_dup(&dst->allow_transfer, src->allow_transfer, src->n_allow_transfer,
		      sizeof(*src->allow_transfer)) < 0 ||
	    array_dup(&dst->notify, src->notify, src->n_notify, sizeof(*src->notify)) < 0) {
		config_zone_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Deep-copy a client section. */
int config_client_copy(struct config_client *dst, const struct config_client *src)
{
	*dst = *src;
	dst->registries = NULL;
	dst->exclude = NULL;
	dst->auto_allowed = NULL;
	dst->cand_statics = NULL;
	dst->cand_exclude = NULL;
	if (array_dup(&dst->registries, src->registries, src->n_registries, sizeof(*src->registries)) < 0 ||
	    array_dup(&dst->exclude, src->exclude, src->n_exclude, sizeof(*src->exclude)) < 0 ||
	    array_dup(&dst->auto_allowed, src->auto_allowed, src->n_auto_allowed, sizeof(*src->auto_allowed)) < 0 ||
	    array_dup(&dst->cand_statics, src->cand_statics, src->n_cand_statics, sizeof(*src->cand_statics)) < 0 ||
	    array_dup(&dst->cand_exclude, src->cand_exclude, src->n_cand_exclude, sizeof(*src->cand_exclude)) < 0) {
		config_client_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Free a zone section's arrays. */
void config_zone_clear(struct config_zone *z)
{
	free(z->self_allowed_ips);
	free(z->ns_addrs);
	free(z->allow_transfer);
	free(z->notify);
	z->self_allowed_ips = NULL;
	z->n_self_allowed_ips = 0;
	z->ns_addrs = NULL;
	z->n_ns_addrs = 0;
	z->allow_transfer = NULL;
	z->n_allow_transfer = 0;
	z->notify = NULL;
	z->n_notify = 0;
}

/* Free a client section's arrays. */
void config_client_clear(struct config_client *c)
{
	free(c->registries);
	free(c->exclude);
	free(c->cand_statics);
	free(c->cand_exclude);
	free(c->auto_allowed);
	c->registries = NULL;
	c->n_registries = 0;
	c->exclude = NULL;
	c->n_exclude = 0;
	c->cand_statics = NULL;
	c->n_cand_statics = 0;
	c->cand_exclude = NULL;
	c->n_cand_exclude = 0;
	c->auto_allowed = NULL;
	c->n_auto_allowed = 0;
}
