/* SPDX-License-Identifier: MIT */
/* The relay's event-loop glue: allocations, their sockets, batched forwarding, idle sweep, status. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "relay-alloc.h"
#include "relay.h"
#include "sock.h"
#include "strbuf.h"

#define RELAY_BATCH 32                /* datagrams per recvmmsg/sendmmsg */
#define RELAY_READ_ROUNDS 4           /* batches per wakeup, so that one busy socket cannot starve the rest */
#define RELAY_PKT_MAX 9216            /* larger datagrams (jumbo frames beyond this) are dropped */
#define RELAY_BIND_TRIES 64           /* ports tried per allocation before giving up */
#define RELAY_SWEEP_MS 1000
#define RELAY_FULL_LOG_INTERVAL_MS 60000
#define RELAY_SOCKET_BUF_BYTES (1024 * 1024)  /* receive and send buffers of each relay port */

struct relay_entry;

/* One socket of one side: the port that side sends to, on one address family. */
struct relay_sock {
	struct relay_entry *e;
	unsigned int side;
	int fd;                            /* -1: family not configured */
	struct event *ev;
};

/* One allocation. */
struct relay_entry {
	struct relay *r;
	struct relay_alloc a;
	uint16_t port[2];
	struct relay_sock sock[2][2];      /* [side][0: IPv4, 1: IPv6] */
	uint64_t created_ms;
	uint64_t refreshed_ms;             /* last DNS query for the pair */
	char name[2][12];                  /* short keys, for logs */
};

struct relay {
	struct event_base *base;
	struct config_relay cfg;
	uint8_t addr4[1][4];
	uint8_t addr6[1][16];
	struct dns_relay dns;
	struct relay_entry **allocs;
	size_t n_allocs;
	size_t cap_allocs;
	uint8_t port_used[65536 / 8];
	struct event *sweep;
	uint64_t full_logged_ms;
	/* Batch buffers, allocated once. */
	uint8_t (*bufs)[RELAY_PKT_MAX];
	struct mmsghdr in[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	union sockaddr_any from[RELAY_BATCH];
	union sockaddr_any to[RELAY_BATCH];
	struct mmsghdr out[2][RELAY_BATCH];   /* by family of the destination */
	/* Counters since start. */
	uint64_t verdicts[RELAY_VERDICT_MAX];
	uint64_t forwarded_bytes;
	uint64_t oversize;
	uint64_t send_errors;
	uint64_t queries[DNS_RELAY_FAILED + 1];
	uint64_t created, refreshed, full, bind_failed, freed_idle, freed_reload;
};

/* Bit of a port in the used map. */
static bool port_is_used(const struct relay *r, uint16_t p)
{
	return r->port_used[p / 8] & (1u << (p % 8));
}

/* Mark or clear a port. */
static void port_mark(struct relay *r, uint16_t p, bool used)
{
	if (used)
		r->port_used[p / 8] |= (uint8_t)(1u << (p % 8));
	else
		r->port_used[p / 8] &= (uint8_t)~(1u << (p % 8));
}

/* Close one socket. */
static void sock_close(struct relay_sock *s)
{
	if (s->ev)
		event_free(s->ev);
	s->ev = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Close an allocation's sockets, release its ports, free it. */
static void entry_free(struct relay_entry *e)
{
	for (int s = 0; s < 2; s++) {
		for (int f = 0; f < 2; f++)
			sock_close(&e->sock[s][f]);
		if (e->port[s])
			port_mark(e->r, e->port[s], false);
	}
	free(e);
}

/* Send a batch on fd; what cannot be sent is counted. */
static void send_batch(struct relay *r, int fd, struct mmsghdr *msgs, unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		int k = sendmmsg(fd, msgs + done, n - done, MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN (socket buffer full), EMSGSIZE, unreachable: this one is lost, try the rest. */
			r->send_errors++;
			done++;
			continue;
		}
		done += (unsigned int)k;
	}
}

/* Datagrams arrived on one side's port: decide each, forward the batch from the other side's port. */
static void sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_sock *rs = arg;
	struct relay_entry *e = rs->e;
	struct relay *r = e->r;
	unsigned int other = !rs->side;

	for (int round = 0; round < RELAY_READ_ROUNDS; round++) {
		unsigned int nout[2] = { 0, 0 };
		for (int i = 0; i < RELAY_BATCH; i++) {
			r->iov[i].iov_base = r->bufs[i];
			r->iov[i].iov_len = RELAY_PKT_MAX;
			memset(&r->in[i], 0, sizeof(r->in[i]));
			r->in[i].msg_hdr.msg_iov = &r->iov[i];
			r->in[i].msg_hdr.msg_iovlen = 1;
			r->in[i].msg_hdr.msg_name = &r->from[i];
			r->in[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
		}
		int n = recvmmsg(fd, r->in, RELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		uint64_t now = clock_monotonic_ms();
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &r->in[i].msg_hdr;
			size_t len = r->in[i].msg_len;
			if (h->msg_flags & MSG_TRUNC) {
				r->oversize++;
				continue;
			}
			if (h->msg_namelen > sizeof(r->from[i]))
				r->from[i].sa.sa_family = AF_UNSPEC;
			enum relay_verdict v = relay_alloc_input(&e->a, rs->side, &r->from[i], r->bufs[i], len, now,
								 &r->to[i]);
			r->verdicts[v]++;
			if (v != RELAY_FORWARD)
				continue;
			unsigned int f = r->to[i].sa.sa_family == AF_INET6;
			if (e->sock[other][f].fd < 0) {
				/* Cannot happen: each side has the same families, and the address came in on one. */
				r->send_errors++;
				continue;
			}
			/* The received bytes, unchanged: one datagram out per datagram in, never larger. */
			struct mmsghdr *o = &r->out[f][nout[f]++];
			memset(o, 0, sizeof(*o));
			o->msg_hdr.msg_iov = &r->iov[i];
			r->iov[i].iov_len = len;
			o->msg_hdr.msg_iovlen = 1;
			o->msg_hdr.msg_name = &r->to[i];
			o->msg_hdr.msg_namelen = addr_len(&r->to[i]);
			r->forwarded_bytes += len;
		}
		for (int f = 0; f < 2; f++)
			if (nout[f])
				send_batch(r, e->sock[other][f].fd, r->out[f], nout[f]);
		if (n < RELAY_BATCH)
			return;
	}
}

/* Open, bind and watch one socket of an allocation. 0 or -errno (-EADDRINUSE: try another port). */
static int sock_open(struct relay *r, struct relay_sock *s, int family, uint16_t port)
{
	union sockaddr_any a;
	int one = 1, pmtu = IP_PMTUDISC_DONT;

	memset(&a, 0, sizeof(a));
	if (family == AF_INET) {
		a.in.sin_family = AF_INET;
		memcpy(&a.in.sin_addr, r->addr4[0], 4);
		a.in.sin_port = htons(port);
	} else {
		a.in6.sin6_family = AF_INET6;
		memcpy(&a.in6.sin6_addr, r->addr6[0], 16);
		a.in6.sin6_port = htons(port);
	}
	s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	/* Room for a burst of tunnel traffic while the loop answers DNS or builds a snapshot. */
	sock_set_buffers(s->fd, RELAY_SOCKET_BUF_BYTES);
	/* A relay forwards: let the kernel fragment rather than fail on a smaller onward MTU. */
	if (family == AF_INET)
		setsockopt(s->fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	else
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(s->fd, &a.sa, addr_len(&a)) < 0) {
		int err = -errno;
		sock_close(s);
		return err;
	}
	s->ev = event_new(r->base, s->fd, EV_READ | EV_PERSIST, sock_read_cb, s);
	if (!s->ev || event_add(s->ev, NULL) < 0) {
		sock_close(s);
		return -ENOMEM;
	}
	return 0;
}

/* Bind one side of e on a free port of the range (random start). 0 or -errno. */
static int side_bind(struct relay *r, struct relay_entry *e, unsigned int side)
{
	uint32_t span = (uint32_t)r->cfg.port_max - r->cfg.port_min + 1, start = 0;
	int tries = 0, err = -EADDRINUSE;

	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = (uint32_t)clock_monotonic_us();
	for (uint32_t i = 0; i < span && tries < RELAY_BIND_TRIES; i++) {
		uint16_t port = (uint16_t)(r->cfg.port_min + (start + i) % span);
		if (port_is_used(r, port))
			continue;
		tries++;
		err = 0;
		if (r->dns.n_addr4)
			err = sock_open(r, &e->sock[side][0], AF_INET, port);
		if (!err && r->dns.n_addr6)
			err = sock_open(r, &e->sock[side][1], AF_INET6, port);
		if (!err) {
			e->port[side] = port;
			port_mark(r, port, true);
			return 0;
		}
		sock_close(&e->sock[side][0]);
		sock_close(&e->sock[side][1]);
		if (err != -EADDRINUSE && err != -EACCES)
			return err;
	}
	return err;
}

/* Index of the allocation of this pair (either order), or -1. */
static ssize_t entry_find(const struct relay *r, const uint8_t k0[WG_KEY_LEN], const uint8_t k1[WG_KEY_LEN])
{
	for (size_t i = 0; i < r->n_allocs; i++)
		if (memcmp(r->allocs[i]->a.side[0].key, k0, WG_KEY_LEN) == 0 &&
		    memcmp(r->allocs[i]->a.side[1].key, k1, WG_KEY_LEN) == 0)
			return (ssize_t)i;
	return -1;
}

/* Create an allocation for keys k0 < k1. NULL with *err on failure. */
static struct relay_entry *entry_new(struct relay *r, const uint8_t k0[WG_KEY_LEN], const uint8_t k1[WG_KEY_LEN],
				     uint64_t now, int *err)
{
	struct relay_entry *e = calloc(1, sizeof(*e));

	*err = -ENOMEM;
	if (!e)
		return NULL;
	e->r = r;
	for (unsigned int s = 0; s < 2; s++)
		for (int f = 0; f < 2; f++) {
			e->sock[s][f].e = e;
			e->sock[s][f].side = s;
			e->sock[s][f].fd = -1;
		}
	relay_alloc_init(&e->a, k0, k1, r->cfg.rate_bps, now);
	key_short(k0, e->name[0]);
	key_short(k1, e->name[1]);
	e->created_ms = e->refreshed_ms = now;
	if ((*err = side_bind(r, e, 0)) < 0 || (*err = side_bind(r, e, 1)) < 0) {
		entry_free(e);
		return NULL;
	}
	return e;
}

/* The DNS callback: find or create the pair's allocation and return the asker's port. */
static int allocate_cb(void *arg, const uint8_t self[WG_KEY_LEN], const uint8_t peer[WG_KEY_LEN], uint16_t *port)
{
	struct relay *r = arg;
	bool self_first = memcmp(self, peer, WG_KEY_LEN) < 0;
	const uint8_t *k0 = self_first ? self : peer, *k1 = self_first ? peer : self;
	uint64_t now = clock_monotonic_ms();
	ssize_t i = entry_find(r, k0, k1);
	struct relay_entry *e;
	int err;

	if (i >= 0) {
		e = r->allocs[i];
		e->refreshed_ms = now;
		r->refreshed++;
		*port = e->port[!self_first];
		return 0;
	}
	if (r->n_allocs >= r->cfg.max_allocs) {
		r->full++;
		if (!r->full_logged_ms || now - r->full_logged_ms >= RELAY_FULL_LOG_INTERVAL_MS) {
			log_warnx("relay: all %u allocations in use; new pairs get SERVFAIL (at most one message per minute)",
				  r->cfg.max_allocs);
			r->full_logged_ms = now;
		}
		return -ENOSPC;
	}
	if (r->n_allocs == r->cap_allocs) {
		size_t ncap = r->cap_allocs ? 2 * r->cap_allocs : 16;
		struct relay_entry **n = realloc(r->allocs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->allocs = n;
		r->cap_allocs = ncap;
	}
	e = entry_new(r, k0, k1, now, &err);
	if (!e) {
		r->bind_failed++;
		log_warnx("relay: cannot open ports for a new allocation in %u-%u: %s", r->cfg.port_min,
			  r->cfg.port_max, strerror(-err));
		return err;
	}
	r->allocs[r->n_allocs++] = e;
	r->created++;
	log_info("relay: allocation %s (port %u) <-> %s (port %u)", e->name[0], e->port[0], e->name[1], e->port[1]);
	*port = e->port[!self_first];
	return 0;
}

/* Last activity of an allocation: a forwarded datagram or a query for it. */
static uint64_t entry_active_ms(const struct relay_entry *e)
{
	return e->a.last_forward_ms > e->refreshed_ms ? e->a.last_forward_ms : e->refreshed_ms;
}

/* Sweep timer: free allocations idle for idle-timeout. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	uint64_t now = clock_monotonic_ms();
	size_t w = 0;

	for (size_t i = 0; i < r->n_allocs; i++) {
		struct relay_entry *e = r->allocs[i];
		uint64_t idle = now - entry_active_ms(e);
		if (idle >= r->cfg.idle_timeout_ms) {
			log_info("relay: allocation %s (port %u) <-> %s (port %u) freed after %llu s idle",
				 e->name[0], e->port[0], e->name[1], e->port[1], (unsigned long long)(idle / 1000));
			r->freed_idle++;
			entry_free(e);
			continue;
		}
		r->allocs[w++] = e;
	}
	r->n_allocs = w;
}

/* Copy the addresses of cfg into the DNS view. */
static void set_addrs(struct relay *r)
{
	r->dns.n_addr4 = r->dns.n_addr6 = 0;
	for (size_t i = 0; i < r->cfg.n_addrs; i++) {
		const union sockaddr_any *a = &r->cfg.addrs[i];
		if (a->sa.sa_family == AF_INET && !r->dns.n_addr4) {
			memcpy(r->addr4[0], &a->in.sin_addr, 4);
			r->dns.n_addr4 = 1;
		} else if (a->sa.sa_family == AF_INET6 && !r->dns.n_addr6) {
			memcpy(r->addr6[0], &a->in6.sin6_addr, 16);
			r->dns.n_addr6 = 1;
		}
	}
}

/* Create the relay. */
int relay_new(struct event_base *base, const struct config_relay *cfg, struct relay **out, struct strbuf *err)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct timeval tv = { RELAY_SWEEP_MS / 1000, (RELAY_SWEEP_MS % 1000) * 1000 };

	*out = NULL;
	if (!r)
		goto fail;
	r->base = base;
	r->cfg = *cfg;
	r->bufs = malloc(RELAY_BATCH * sizeof(*r->bufs));
	r->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, r);
	if (!r->bufs || !r->sweep || event_add(r->sweep, &tv) < 0)
		goto fail;
	r->dns.addr4 = (const uint8_t (*)[4])r->addr4;
	r->dns.addr6 = (const uint8_t (*)[16])r->addr6;
	r->dns.allocate = allocate_cb;
	r->dns.arg = r;
	set_addrs(r);
	*out = r;
	return 0;
fail:
	strbuf_puts(err, "relay: out of memory");
	relay_free(r);
	return -ENOMEM;
}

/* Drop every allocation. */
static void free_all(struct relay *r)
{
	for (size_t i = 0; i < r->n_allocs; i++)
		entry_free(r->allocs[i]);
	r->n_allocs = 0;
}

/* Apply a new section. */
void relay_apply(struct relay *r, const struct config_relay *cfg)
{
	bool moved = cfg->n_addrs != r->cfg.n_addrs || cfg->port_min != r->cfg.port_min ||
		     cfg->port_max != r->cfg.port_max;
	uint64_t now = clock_monotonic_ms();

	for (size_t i = 0; !moved && i < cfg->n_addrs; i++)
		moved = !addr_equal(&cfg->addrs[i], &r->cfg.addrs[i]);
	if (moved && r->n_allocs) {
		log_info("relay: addresses or ports changed; %zu allocations dropped (peers ask again)", r->n_allocs);
		r->freed_reload += r->n_allocs;
		free_all(r);
	}
	r->cfg = *cfg;
	set_addrs(r);
	for (size_t i = 0; i < r->n_allocs; i++)
		if (r->allocs[i]->a.rate_bps != cfg->rate_bps)
			relay_alloc_set_rate(&r->allocs[i]->a, cfg->rate_bps, now);
}

/* Free the relay. */
void relay_free(struct relay *r)
{
	if (!r)
		return;
	free_all(r);
	free(r->allocs);
	if (r->sweep)
		event_free(r->sweep);
	free(r->bufs);
	free(r);
}

/* The DNS view. */
const struct dns_relay *relay_dns(const struct relay *r)
{
	return &r->dns;
}

/* Count a relay query's outcome. */
void relay_count_query(struct relay *r, enum dns_relay_result res)
{
	if ((unsigned int)res <= DNS_RELAY_FAILED)
		r->queries[res]++;
}

/* Name of a query outcome. */
static const char *query_name(int i)
{
	static const char *const names[] = { "other", "granted", "refused", "unknown_peer", "failed" };

	return names[i];
}

/* Append the status object. */
void relay_status_json(const struct relay *r, struct strbuf *out)
{
	char buf[ADDR_STRLEN];
	uint64_t now = clock_monotonic_ms(), packets = 0;

	strbuf_puts(out, "{\"addresses\":[");
	for (size_t i = 0; i < r->cfg.n_addrs; i++) {
		if (i)
			strbuf_puts(out, ",");
		strbuf_json_string(out, addr_format_ip(&r->cfg.addrs[i], buf, sizeof(buf)));
	}
	strbuf_printf(out, "],\"ports\":\"%u-%u\",\"max_allocations\":%u,\"idle_timeout_ms\":%u,\"rate_limit_bps\":%llu,"
		      "\"allocations\":%zu", r->cfg.port_min, r->cfg.port_max, r->cfg.max_allocs, r->cfg.idle_timeout_ms,
		      (unsigned long long)r->cfg.rate_bps, r->n_allocs);
	strbuf_printf(out, ",\"allocations_created\":%llu,\"allocations_refreshed\":%llu,\"allocations_refused_full\":%llu,"
		      "\"allocations_bind_failed\":%llu,\"allocations_freed_idle\":%llu,\"allocations_freed_reload\":%llu",
		      (unsigned long long)r->created, (unsigned long long)r->refreshed, (unsigned long long)r->full,
		      (unsigned long long)r->bind_failed, (unsigned long long)r->freed_idle,
		      (unsigned long long)r->freed_reload);
	strbuf_puts(out, ",\"queries\":{");
	for (int i = DNS_RELAY_GRANTED; i <= DNS_RELAY_FAILED; i++)
		strbuf_printf(out, "%s\"%s\":%llu", i > DNS_RELAY_GRANTED ? "," : "", query_name(i),
			      (unsigned long long)r->queries[i]);
	packets = r->verdicts[RELAY_FORWARD];
	strbuf_printf(out, "},\"forwarded_packets\":%llu,\"forwarded_bytes\":%llu,\"send_errors\":%llu,\"dropped\":{",
		      (unsigned long long)packets, (unsigned long long)r->forwarded_bytes,
		      (unsigned long long)r->send_errors);
	strbuf_printf(out, "\"oversize\":%llu", (unsigned long long)r->oversize);
	for (int v = RELAY_FORWARD + 1; v < RELAY_VERDICT_MAX; v++)
		strbuf_printf(out, ",\"%s\":%llu", relay_alloc_verdict_name((enum relay_verdict)v),
			      (unsigned long long)r->verdicts[v]);
	strbuf_puts(out, "},\"list\":[");
	for (size_t i = 0; i < r->n_allocs; i++) {
		const struct relay_entry *e = r->allocs[i];
		strbuf_puts(out, i ? ",{\"sides\":[" : "{\"sides\":[");
		for (int s = 0; s < 2; s++) {
			const struct relay_side *sd = &e->a.side[s];
			char b64[KEY_B64_LEN + 1];
			key_to_base64(sd->key, b64);
			strbuf_puts(out, s ? ",{\"public_key\":" : "{\"public_key\":");
			strbuf_json_string(out, b64);
			strbuf_printf(out, ",\"port\":%u,\"address\":", e->port[s]);
			strbuf_json_addr(out, &sd->addr);
			strbuf_printf(out, ",\"packets\":%llu,\"bytes\":%llu,\"handshakes\":%llu}",
				      (unsigned long long)sd->packets, (unsigned long long)sd->bytes,
				      (unsigned long long)sd->handshakes);
		}
		uint64_t dropped = 0;
		for (int v = RELAY_FORWARD + 1; v < RELAY_VERDICT_MAX; v++)
			dropped += e->a.dropped[v];
		strbuf_printf(out, "],\"age_s\":%.1f,\"idle_s\":%.1f,\"dropped\":%llu}",
			      (double)(now - e->created_ms) / 1e3, (double)(now - entry_active_ms(e)) / 1e3,
			      (unsigned long long)dropped);
	}
	strbuf_puts(out, "]}");
}

/* Append Prometheus metrics. */
void relay_metrics(const struct relay *r, struct strbuf *out)
{
	strbuf_printf(out, "# HELP wgsd_relay_allocations Relay allocations in use.\n"
			   "# TYPE wgsd_relay_allocations gauge\nwgsd_relay_allocations %zu\n"
			   "# HELP wgsd_relay_allocations_max Relay allocations allowed (max-allocations).\n"
			   "# TYPE wgsd_relay_allocations_max gauge\nwgsd_relay_allocations_max %u\n",
		      r->n_allocs, r->cfg.max_allocs);
	strbuf_puts(out, "# HELP wgsd_relay_queries_total Relay queries (SRV <peer>.<self>._relay.ZONE) by outcome.\n"
			 "# TYPE wgsd_relay_queries_total counter\n");
	for (int i = DNS_RELAY_GRANTED; i <= DNS_RELAY_FAILED; i++)
		strbuf_printf(out, "wgsd_relay_queries_total{result=\"%s\"} %llu\n", query_name(i),
			      (unsigned long long)r->queries[i]);
	strbuf_printf(out, "# HELP wgsd_relay_allocations_freed_total Allocations freed, by reason.\n"
			   "# TYPE wgsd_relay_allocations_freed_total counter\n"
			   "wgsd_relay_allocations_freed_total{reason=\"idle\"} %llu\n"
			   "wgsd_relay_allocations_freed_total{reason=\"reload\"} %llu\n",
		      (unsigned long long)r->freed_idle, (unsigned long long)r->freed_reload);
	strbuf_printf(out, "# HELP wgsd_relay_forwarded_packets_total Datagrams relayed.\n"
			   "# TYPE wgsd_relay_forwarded_packets_total counter\nwgsd_relay_forwarded_packets_total %llu\n"
			   "# HELP wgsd_relay_forwarded_bytes_total Bytes relayed (UDP payload).\n"
			   "# TYPE wgsd_relay_forwarded_bytes_total counter\nwgsd_relay_forwarded_bytes_total %llu\n"
			   "# HELP wgsd_relay_send_errors_total Relayed datagrams the kernel did not take.\n"
			   "# TYPE wgsd_relay_send_errors_total counter\nwgsd_relay_send_errors_total %llu\n",
		      (unsigned long long)r->verdicts[RELAY_FORWARD], (unsigned long long)r->forwarded_bytes,
		      (unsigned long long)r->send_errors);
	strbuf_printf(out, "# HELP wgsd_relay_dropped_total Datagrams not relayed, by reason.\n"
			   "# TYPE wgsd_relay_dropped_total counter\nwgsd_relay_dropped_total{reason=\"oversize\"} %llu\n",
		      (unsigned long long)r->oversize);
	for (int v = RELAY_FORWARD + 1; v < RELAY_VERDICT_MAX; v++)
		strbuf_printf(out, "wgsd_relay_dropped_total{reason=\"%s\"} %llu\n",
			      relay_alloc_verdict_name((enum relay_verdict)v), (unsigned long long)r->verdicts[v]);
	strbuf_puts(out, "# HELP wgsd_relay_allocation_packets_total Datagrams relayed from one side of an allocation.\n"
			 "# TYPE wgsd_relay_allocation_packets_total counter\n"
			 "# HELP wgsd_relay_allocation_bytes_total Bytes relayed from one side of an allocation.\n"
			 "# TYPE wgsd_relay_allocation_bytes_total counter\n");
	for (size_t i = 0; i < r->n_allocs; i++) {
		const struct relay_entry *e = r->allocs[i];
		for (int s = 0; s < 2; s++) {
			char b64[KEY_B64_LEN + 1];
			key_to_base64(e->a.side[s].key, b64);
			strbuf_printf(out, "wgsd_relay_allocation_packets_total{peer=\"%s\",port=\"%u\"} %llu\n", b64,
				      e->port[s], (unsigned long long)e->a.side[s].packets);
			strbuf_printf(out, "wgsd_relay_allocation_bytes_total{peer=\"%s\",port=\"%u\"} %llu\n", b64,
				      e->port[s], (unsigned long long)e->a.side[s].bytes);
		}
	}
}
