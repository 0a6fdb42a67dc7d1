/* SPDX-License-Identifier: MIT */
/*
 * bench-wg: device-level measurements for tests/bench/run.sh.
 *
 *   bench-wg read [-b BACKEND] [-n COUNT] DEV
 *       COUNT full reads of DEV through the async wg layer on a libevent
 *       loop, each followed by the snapshot build the registry does on every
 *       refresh: zone_build_run() slices of ZONE_BUILD_SLICE_US, one per
 *       loop turn, then a turn that finishes the snapshot and frees the
 *       previous one, then a turn that frees the reading (registry.c's
 *       snapshot_build_cb). "zone_ms" ends at the swap; "zone_cpu_ms"
 *       includes freeing the reading. A
 *       timer that fires on every loop turn runs meanwhile: the longest gap
 *       between two of its runs is the longest a query could have waited
 *       (CPU time of this thread: work without yielding; wall time adds
 *       preemption). Prints one line of key=value pairs (times in ms,
 *       memory in KiB).
 *   bench-wg rawread [-n COUNT] DEV
 *       The floor of a userspace read: COUNT times, connect to DEV's UAPI
 *       socket, send "get=1", receive the whole reply and discard it (no
 *       parsing, blocking calls). Prints the median and fastest wall times.
 *   bench-wg capture DEV
 *       One netlink dump of kernel device DEV, printed as "nl HEX" lines, one
 *       per datagram as received (secret attributes zeroed by the parser
 *       first), for replay where the kernel module is missing.
 *   bench-wg replay [-n COUNT] FILE
 *       Parse the datagrams of a capture COUNT times with the netlink
 *       backend's parser (wg_nl_dump_feed), then build the snapshot: the
 *       daemon's own work of a kernel read, without the kernel's. Prints the
 *       median parse and build times and the longest parse of the
 *       datagrams one loop turn reads (WG_NL_READ_BATCH).
 *   bench-wg set [-b BACKEND] [-i INFLIGHT] DEV KEYS
 *       Set a new endpoint on every peer listed in KEYS (base64, one a line)
 *       with up to INFLIGHT updates in flight, as the client does; prints
 *       the number of writes, the wall time and writes per second.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/event.h>

#include <libmnl/libmnl.h>

#include "config.h"
#include "key.h"
#include "wg-nl.h"
#include "wg-uapi.h"
#include "wg.h"
#include "zone.h"

#define OP_TIMEOUT_MS 60000
#define MAX_READS 1000

struct bench {
	struct event_base *base;
	struct wg_ctx *ctx;
	const char *dev;
	enum wg_backend backend;
	struct config_zone cz;
	/* read */
	double last_tick_ms;
	double max_gap_ms;
	double last_tick_cpu_ms;
	double max_cpu_gap_ms;
	unsigned long turns;
	struct event *tick;
	struct event *build_ev;
	struct zone_build *build;
	bool build_done;
	struct wg_device *reading;
	struct zone *snap;
	double start_ms;
	double build_start_ms;
	double build_start_cpu_ms;
	double read_ms[MAX_READS];
	double zone_ms[MAX_READS];
	double zone_cpu_ms[MAX_READS];
	unsigned int zone_turns[MAX_READS];
	unsigned int n_reads;
	size_t n_peers;
	size_t n_published;
	int err;
	/* set */
	uint8_t (*keys)[WG_KEY_LEN];
	size_t n_keys;
	size_t next;
	size_t done;
	size_t inflight;
	size_t max_inflight;
	size_t set_errors;
};

/* Monotonic time in milliseconds. */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this thread in milliseconds. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Peak resident set size of this process in KiB. */
static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Compare doubles for qsort. */
static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n values (sorts them). */
static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), dbl_cmp);
	return n ? v[n / 2] : 0;
}

/* Run a timer callback on the next loop turn, after the I/O of that turn. */
static void next_turn(struct event *ev)
{
	static const struct timeval zero = { 0, 0 };

	evtimer_add(ev, &zero);
}

/*
 * The per-turn timer: remember the longest gap between two of its runs, in
 * wall time (includes time the scheduler gave to other processes) and in
 * this thread's CPU time (work done without returning to the loop).
 */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	double t = now_ms(), c = cpu_ms();

	if (t - b->last_tick_ms > b->max_gap_ms)
		b->max_gap_ms = t - b->last_tick_ms;
	if (c - b->last_tick_cpu_ms > b->max_cpu_gap_ms)
		b->max_cpu_gap_ms = c - b->last_tick_cpu_ms;
	b->last_tick_ms = t;
	b->last_tick_cpu_ms = c;
	b->turns++;
	next_turn(b->tick);
}

/* The snapshot build, a piece per loop turn, as registry.c's snapshot_build_cb does it. */
static void build_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	b->zone_turns[b->n_reads]++;
	if (b->build && !b->build_done) {
		int r = zone_build_run(b->build, ZONE_BUILD_SLICE_US);
		if (r < 0) {
			b->err = -ENOMEM;
			event_base_loopbreak(b->base);
			return;
		}
		b->build_done = r == 1;
		next_turn(b->build_ev);
	} else if (b->build) {
		struct zone *z = zone_build_finish(b->build);
		b->build = NULL;
		zone_free(b->snap);
		b->snap = z;
		b->n_published = z->n_entries;
		b->zone_ms[b->n_reads] = now_ms() - b->build_start_ms;
		next_turn(b->build_ev);
	} else {
		wg_device_free(b->reading);
		b->reading = NULL;
		b->zone_cpu_ms[b->n_reads] = cpu_ms() - b->build_start_cpu_ms;
		b->n_reads++;
		event_base_loopbreak(b->base);
	}
}

/* A read finished: start the snapshot build. */
static void read_cb(int err, struct wg_device *dev, void *arg)
{
	struct bench *b = arg;
	double t = now_ms();

	if (err) {
		b->err = err;
		event_base_loopbreak(b->base);
		return;
	}
	b->read_ms[b->n_reads] = t - b->start_ms;
	b->build_start_ms = t;
	b->build_start_cpu_ms = cpu_ms();
	b->n_peers = dev->n_peers;
	b->reading = dev;
	b->build = zone_build_new(&b->cz, dev, b->snap, time(NULL));
	b->build_done = false;
	if (!b->build) {
		b->err = -ENOMEM;
		event_base_loopbreak(b->base);
		return;
	}
	next_turn(b->build_ev);
}

/* Run count reads; print the results. */
static int bench_read(struct bench *b, unsigned int count)
{
	long rss0 = maxrss_kib();
	double first_ms = 0;

	b->tick = evtimer_new(b->base, tick_cb, b);
	b->build_ev = evtimer_new(b->base, build_cb, b);
	snprintf(b->cz.name, sizeof(b->cz.name), "bench.test.");
	snprintf(b->cz.device, sizeof(b->cz.device), "%s", b->dev);
	b->cz.refresh_ms = DEFAULT_REFRESH_MS;
	next_turn(b->tick);
	b->last_tick_ms = now_ms();
	b->last_tick_cpu_ms = cpu_ms();
	for (unsigned int i = 0; i < count && !b->err; i++) {
		b->start_ms = now_ms();
		if (!wg_get_device(b->ctx, b->dev, b->backend, read_cb, b)) {
			b->err = -errno;
			break;
		}
		event_base_dispatch(b->base);
		if (i == 0)
			first_ms = b->read_ms[0] + b->zone_ms[0];
	}
	event_free(b->tick);
	event_free(b->build_ev);
	zone_build_free(b->build);
	wg_device_free(b->reading);
	zone_free(b->snap);
	if (b->err) {
		fprintf(stderr, "bench-wg: %s: %s\n", b->dev, wg_strerror(b->err));
		return 1;
	}
	double total[MAX_READS], zone_max = 0, read_min = b->read_ms[0], turns[MAX_READS];
	for (unsigned int i = 0; i < b->n_reads; i++) {
		total[i] = b->read_ms[i] + b->zone_ms[i];
		turns[i] = b->zone_turns[i];
		if (b->zone_ms[i] > zone_max)
			zone_max = b->zone_ms[i];
		if (b->read_ms[i] < read_min)
			read_min = b->read_ms[i];
	}
	printf("backend=%s peers=%zu published=%zu reads=%u read_ms_median=%.2f read_ms_min=%.2f "
	       "zone_ms_median=%.2f zone_ms_max=%.2f zone_cpu_ms_median=%.2f zone_turns_median=%.0f "
	       "slice_us=%u total_ms_median=%.2f total_ms_first=%.2f loop_turns=%lu max_turn_wall_ms=%.3f max_turn_cpu_ms=%.3f "
	       "peak_rss_growth_kib=%ld peak_rss_kib=%ld\n",
	       wg_backend_name(b->backend), b->n_peers, b->n_published, b->n_reads,
	       median(b->read_ms, b->n_reads), read_min, median(b->zone_ms, b->n_reads), zone_max,
	       median(b->zone_cpu_ms, b->n_reads), median(turns, b->n_reads), ZONE_BUILD_SLICE_US,
	       median(total, b->n_reads), first_ms,
	       b->turns, b->max_gap_ms, b->max_cpu_gap_ms, maxrss_kib() - rss0, maxrss_kib());
	return 0;
}

static void start_sets(struct bench *b);

/* One endpoint update finished. */
static void set_cb(int err, void *arg)
{
	struct bench *b = arg;

	if (err)
		b->set_errors++;
	b->inflight--;
	b->done++;
	start_sets(b);
	if (b->done == b->n_keys)
		event_base_loopbreak(b->base);
}

/* Keep up to the in-flight limit of updates running. */
static void start_sets(struct bench *b)
{
	while (b->next < b->n_keys && b->inflight < b->max_inflight) {
		struct wg_peer_update up;
		size_t i = b->next++;

		memset(&up, 0, sizeof(up));
		memcpy(up.public_key, b->keys[i], WG_KEY_LEN);
		/* A fresh endpoint each run: 203.0.113.0/24 with the index in the port. */
		up.endpoint.in.sin_family = AF_INET;
		up.endpoint.in.sin_addr.s_addr = htonl(0xcb007100u | (uint32_t)(1 + i % 254));
		up.endpoint.in.sin_port = htons((uint16_t)(2000 + i % 60000));
		up.persistent_keepalive = -1;
		if (!wg_set_peer(b->ctx, b->dev, b->backend, &up, set_cb, b)) {
			b->set_errors++;
			b->done++;
			continue;
		}
		b->inflight++;
	}
}

/* Read base64 keys, one a line. 0 or -errno. */
static int load_keys(struct bench *b, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[128];
	size_t cap = 0;
	int ret = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (b->n_keys == cap) {
			cap = cap ? cap * 2 : 1024;
			void *n = realloc(b->keys, cap * sizeof(*b->keys));
			if (!n) {
				ret = -ENOMEM;
				goto out;
			}
			b->keys = n;
		}
		if (key_from_base64(line, b->keys[b->n_keys]) < 0) {
			ret = -EINVAL;
			goto out;
		}
		b->n_keys++;
	}
out:
	fclose(f);
	return ret;
}

/* Set every key's endpoint; print the rate. */
static int bench_set(struct bench *b, const char *keys_path)
{
	int ret = load_keys(b, keys_path);

	if (ret < 0 || b->n_keys == 0) {
		fprintf(stderr, "bench-wg: %s: %s\n", keys_path, ret < 0 ? strerror(-ret) : "no keys");
		return 1;
	}
	double t0 = now_ms();
	start_sets(b);
	if (b->done < b->n_keys)
		event_base_dispatch(b->base);
	double ms = now_ms() - t0;
	printf("backend=%s writes=%zu errors=%zu inflight=%zu wall_ms=%.1f writes_per_s=%.0f\n",
	       wg_backend_name(b->backend), b->done - b->set_errors, b->set_errors, b->max_inflight, ms,
	       (double)(b->done - b->set_errors) * 1000.0 / ms);
	return b->set_errors ? 1 : 0;
}

/* Receive whole userspace replies without parsing them: how fast the device alone delivers. */
static int bench_rawread(const char *dev, unsigned int count)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static char buf[1 << 16];
	double ms[MAX_READS];
	size_t bytes = 0;

	if (wg_uapi_socket_path(dev, sun.sun_path, sizeof(sun.sun_path)) < 0) {
		fprintf(stderr, "bench-wg: %s: bad device name\n", dev);
		return 1;
	}
	for (unsigned int i = 0; i < count; i++) {
		double t0 = now_ms();
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ssize_t n;

		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || write(fd, "get=1\n\n", 7) != 7) {
			fprintf(stderr, "bench-wg: %s: %s\n", sun.sun_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return 1;
		}
		/* The reply ends with an empty line; the connection stays open for another request. */
		char tail[2] = { 0, 0 };
		bytes = 0;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			bytes += (size_t)n;
			if (n >= 2) {
				tail[0] = buf[n - 2];
				tail[1] = buf[n - 1];
			} else {
				tail[0] = tail[1];
				tail[1] = buf[0];
			}
			if (tail[0] == '\n' && tail[1] == '\n')
				break;
		}
		close(fd);
		ms[i] = now_ms() - t0;
	}
	double fastest = ms[0];
	for (unsigned int i = 1; i < count; i++)
		if (ms[i] < fastest)
			fastest = ms[i];
	printf("rawread bytes=%zu reads=%u raw_ms_median=%.2f raw_ms_min=%.2f\n", bytes, count, median(ms, count),
	       fastest);
	return 0;
}

/* Receive one datagram of the reply to seq into buf and feed its messages to feed; MORE, DONE or -errno. */
static int nl_recv_feed(struct mnl_socket *nl, void *buf, ssize_t *len, int (*feed)(struct nlmsghdr *, void *),
			void *arg)
{
	size_t off = 0;
	struct nlmsghdr *nlh;
	int r = WG_NL_MORE;

	*len = mnl_socket_recvfrom(nl, buf, WG_NL_RECV_BUF_LEN);
	if (*len <= 0)
		return *len < 0 ? -errno : -EBADMSG;
	while (r == WG_NL_MORE && (r = wg_nl_msg_next(buf, (size_t)*len, &off, &nlh)) == 1)
		r = feed(nlh, arg);
	return r;
}

struct family_req {
	uint32_t seq;
	uint16_t id;
};

/* Feed the family reply. */
static int family_feed(struct nlmsghdr *nlh, void *arg)
{
	struct family_req *f = arg;

	return wg_nl_family_feed(nlh, f->seq, &f->id);
}

/* Feed a dump message (zeroes the secret attributes in place). */
static int dump_feed(struct nlmsghdr *nlh, void *arg)
{
	return wg_nl_dump_feed(arg, nlh);
}

/* Print one netlink dump of a kernel device as hex lines. */
static int bench_capture(const char *dev)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_GENERIC);
	uint8_t *buf = malloc(WG_NL_RECV_BUF_LEN), req[WG_NL_REQ_BUF_LEN];
	struct family_req f = { (uint32_t)time(NULL), 0 };
	struct wg_nl_dump d = { 0 };
	struct nlmsghdr *nlh;
	size_t datagrams = 0, bytes = 0;
	ssize_t len;
	int r;

	if (!nl || !buf || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		fprintf(stderr, "bench-wg: netlink: %s\n", strerror(errno));
		return 1;
	}
	nlh = wg_nl_build_family_req(req, sizeof(req), f.seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		r = -errno;
	else
		while ((r = nl_recv_feed(nl, buf, &len, family_feed, &f)) == WG_NL_MORE)
			;
	if (r == WG_NL_DONE) {
		nlh = wg_nl_build_get(req, sizeof(req), f.id, ++f.seq, dev);
		r = wg_nl_dump_init(&d, f.id, f.seq);
		if (r == 0 && mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
			r = -errno;
		while (r == 0 || r == WG_NL_MORE) {
			r = nl_recv_feed(nl, buf, &len, dump_feed, &d);
			if (len <= 0)
				break;
			printf("nl ");
			for (ssize_t i = 0; i < len; i++)
				printf("%02x", buf[i]);
			printf("\n");
			datagrams++;
			bytes += (size_t)len;
		}
	}
	if (r != WG_NL_DONE) {
		fprintf(stderr, "bench-wg: capture %s: %s\n", dev, r == WG_NL_RESTART ? "dump interrupted" : wg_strerror(r));
	} else {
		printf("capture peers=%zu datagrams=%zu bytes=%zu\n", d.dev ? d.dev->n_peers : 0, datagrams, bytes);
	}
	wg_nl_dump_clear(&d);
	mnl_socket_close(nl);
	free(buf);
	return r == WG_NL_DONE ? 0 : 1;
}

struct datagram {
	uint8_t *data;
	size_t len;
};

/* Value of a lower-case hex digit as bench_capture() prints them (anything else: 0). */
static unsigned int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? (unsigned int)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned int)(c - 'a' + 10) : 0;
}

/* Load the "nl HEX" lines of a capture. */
static int load_capture(const char *path, struct datagram **out, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t ll;

	*out = NULL;
	*n = 0;
	if (!f)
		return -errno;
	while ((ll = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "nl ", 3) != 0)
			continue;
		size_t hex = strcspn(line + 3, "\r\n");
		if (hex % 2 || hex / 2 > WG_NL_RECV_BUF_LEN)
			break;
		if (*n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			struct datagram *g = realloc(*out, alloc * sizeof(*g));
			if (!g)
				break;
			*out = g;
		}
		struct datagram *g = &(*out)[*n];
		g->len = hex / 2;
		g->data = malloc(g->len);
		if (!g->data)
			break;
		for (size_t i = 0; i < g->len; i++)
			g->data[i] = (uint8_t)(hex_digit(line[3 + 2 * i]) << 4 | hex_digit(line[4 + 2 * i]));
		(*n)++;
	}
	free(line);
	fclose(f);
	return *n ? 0 : -EINVAL;
}

/* Parse a captured dump count times, then build the snapshot of the result. */
static int bench_replay(struct bench *b, const char *path, unsigned int count)
{
	struct datagram *g;
	size_t n;
	int ret = load_capture(path, &g, &n);
	double parse_ms[MAX_READS], zone_ms[MAX_READS], turn_max = 0;
	size_t peers = 0, published = 0, bytes = 0;
	struct nlmsghdr *first = (struct nlmsghdr *)(void *)(ret == 0 ? g[0].data : NULL);

	if (ret < 0 || g[0].len < sizeof(*first)) {
		fprintf(stderr, "bench-wg: %s: no capture\n", path);
		return 1;
	}
	snprintf(b->cz.name, sizeof(b->cz.name), "bench.test.");
	snprintf(b->cz.device, sizeof(b->cz.device), "replay");
	b->cz.refresh_ms = DEFAULT_REFRESH_MS;
	for (size_t i = 0; i < n; i++)
		bytes += g[i].len;
	for (unsigned int it = 0; it < count && ret == 0; it++) {
		struct wg_nl_dump d;
		int r = wg_nl_dump_init(&d, first->nlmsg_type, first->nlmsg_seq);
		double t0 = cpu_ms(), turn0 = t0;
		for (size_t i = 0; i < n && (r == 0 || r == WG_NL_MORE); i++) {
			size_t off = 0;
			struct nlmsghdr *nlh;
			while ((r = wg_nl_msg_next(g[i].data, g[i].len, &off, &nlh)) == 1 &&
			       (r = wg_nl_dump_feed(&d, nlh)) == WG_NL_MORE)
				;
			if (r == 0)
				r = WG_NL_MORE;   /* end of this datagram */
			if ((i + 1) % WG_NL_READ_BATCH == 0 || i + 1 == n) {
				double t = cpu_ms();
				if (t - turn0 > turn_max)
					turn_max = t - turn0;
				turn0 = t;
			}
		}
		parse_ms[it] = cpu_ms() - t0;
		if (r != WG_NL_DONE) {
			fprintf(stderr, "bench-wg: %s: replay ended with %d\n", path, r);
			wg_nl_dump_clear(&d);
			ret = 1;
			break;
		}
		t0 = cpu_ms();
		struct zone *z = zone_new(&b->cz, d.dev, NULL, time(NULL));
		zone_ms[it] = cpu_ms() - t0;
		peers = d.dev->n_peers;
		published = z ? z->n_entries : 0;
		zone_free(z);
		wg_nl_dump_clear(&d);
	}
	if (ret == 0)
		printf("replay peers=%zu published=%zu datagrams=%zu bytes=%zu reads=%u parse_ms_median=%.2f "
		       "turn_datagrams=%d parse_turn_max_ms=%.3f zone_ms_median=%.2f\n", peers, published, n, bytes, count,
		       median(parse_ms, count), WG_NL_READ_BATCH, turn_max, median(zone_ms, count));
	for (size_t i = 0; i < n; i++)
		free(g[i].data);
	free(g);
	return ret;
}

/* Print usage and return 2. */
static int usage(void)
{
	fprintf(stderr, "usage: bench-wg read [-b BACKEND] [-n COUNT] DEV\n"
			"       bench-wg rawread [-n COUNT] DEV\n"
			"       bench-wg capture DEV\n"
			"       bench-wg replay [-n COUNT] FILE\n"
			"       bench-wg set [-b BACKEND] [-i INFLIGHT] DEV KEYS\n");
	return 2;
}

/* Entry point. */
int main(int argc, char **argv)
{
	struct bench b;
	unsigned int count = 10;
	int ch, ret;

	memset(&b, 0, sizeof(b));
	b.max_inflight = DEFAULT_MAX_INFLIGHT;
	/* The allocator settings of wgsd (src/wgsd.c): big blocks are mmapped and given back. */
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
	if (argc < 2)
		return usage();
	const char *mode = argv[1];
	argc--;
	argv++;
	while ((ch = getopt(argc, argv, "b:n:i:")) != -1) {
		switch (ch) {
		case 'b':
			if (wg_backend_parse(optarg, &b.backend) < 0)
				return usage();
			break;
		case 'n':
			count = (unsigned int)strtoul(optarg, NULL, 10);
			if (count == 0 || count > MAX_READS)
				return usage();
			break;
		case 'i':
			b.max_inflight = strtoul(optarg, NULL, 10);
			if (b.max_inflight == 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind >= argc)
		return usage();
	b.dev = argv[optind];
	b.base = event_base_new();
	b.ctx = b.base ? wg_ctx_new(b.base) : NULL;
	if (!b.ctx) {
		fprintf(stderr, "bench-wg: out of memory\n");
		return 1;
	}
	wg_ctx_set_timeout(b.ctx, OP_TIMEOUT_MS);
	if (strcmp(mode, "read") == 0 && optind + 1 == argc)
		ret = bench_read(&b, count);
	else if (strcmp(mode, "rawread") == 0 && optind + 1 == argc)
		ret = bench_rawread(b.dev, count);
	else if (strcmp(mode, "capture") == 0 && optind + 1 == argc)
		ret = bench_capture(b.dev);
	else if (strcmp(mode, "replay") == 0 && optind + 1 == argc)
		ret = bench_replay(&b, b.dev, count);
	else if (strcmp(mode, "set") == 0 && optind + 2 == argc)
		ret = bench_set(&b, argv[optind + 1]);
	else
		ret = usage();
	wg_ctx_free(b.ctx);
	event_base_free(b.base);
	free(b.keys);
	return ret;
}
