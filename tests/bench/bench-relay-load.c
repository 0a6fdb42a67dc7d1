/* SPDX-License-Identifier: MIT */
/*
 * bench-relay-load: a cheap, paced source and a counting sink of
 * WireGuard-shaped datagrams, for tests/bench/relay.sh.
 *
 *   bench-relay-load send [-g] [-r RATE] [-l LEN] [-t SECONDS] [-i INDEX] SRC DST
 *       Binds SRC (address:port, [v6]:port), connects to DST and sends
 *       transport data messages (type 4, three zero bytes, receiver INDEX
 *       little-endian, a 64-bit counter, zero padding to LEN bytes: what the
 *       relay classifies as WireGuard data) in sendmmsg batches, RATE
 *       datagrams a second (token bucket, at most 10 ms of credit, sent in
 *       bursts of a millisecond's worth; 0: unlimited, as fast as the socket
 *       takes them), for SECONDS (0: until
 *       SIGTERM or SIGINT). -g: UDP segmentation offload (UDP_SEGMENT): each
 *       sendmsg hands the kernel up to 64 datagrams as one buffer, which
 *       crosses the sender's network path (NATs, bridges) once and is split
 *       into separate datagrams where it is delivered, so the sender's CPU
 *       costs far less per datagram; the receiver sees ordinary datagrams.
 *       LEN must then fit the path's MTU (1,472 bytes on Ethernet): the
 *       kernel refuses larger segments (EINVAL, exit 1).
 *   bench-relay-load sink [-t SECONDS] ADDR
 *       Binds ADDR and counts what arrives, in recvmmsg batches: datagrams
 *       that look like the sender's, and others.
 *
 * Both print one line of key=value words on SIGUSR1 (at=report) and one when
 * they stop (at=end): ms (CLOCK_MONOTONIC, for rates between two lines),
 * datagrams and bytes so far, and errors (send) or other datagrams (sink).
 * Each line is one write(), so a reader that sees its newline sees all of it.
 * Exit status 0, 1 on a failed system call, 2 on bad usage.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#define BATCH 64
#define GSO_SEGS_MAX 64           /* the kernel's UDP_MAX_SEGMENTS in older kernels */
#define GSO_BYTES_MAX 65000       /* UDP payload of one buffer, below 65,507 */
#define LEN_MIN 32                /* the relay's smallest transport data message */
#define LEN_MAX 9216              /* the relay's largest datagram */
#define BURST_MS 10               /* the token bucket's depth */
#define SOCK_BUF_BYTES (4 * 1024 * 1024)
#define POLL_MS 100
#define COST 1000000000u        /* one datagram in the token bucket (ns x rate) */

static volatile sig_atomic_t stop_flag, report_flag;

struct counts {
	uint64_t packets, bytes, other;
};

/* Print a message and exit with status code. */
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench-relay-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

/* Monotonic time in nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* SIGTERM, SIGINT: stop; SIGUSR1: print a report line. */
static void signal_cb(int sig)
{
	if (sig == SIGUSR1)
		report_flag = 1;
	else
		stop_flag = 1;
}

/* Install the handlers without SA_RESTART, so that a blocked call returns EINTR. */
static void signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = signal_cb;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGUSR1, &sa, NULL) < 0)
		die(1, "sigaction: %s", strerror(errno));
}

/* Print one line of counts in a single write(); send mode names them sent/errors, sink mode received/other. */
static void report(int send_mode, const char *at, const struct counts *c)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "mode=%s at=%s ms=%.3f %s=%llu bytes=%llu %s=%llu\n",
			 send_mode ? "send" : "sink", at, (double)now_ns() / 1e6, send_mode ? "sent" : "received",
			 (unsigned long long)c->packets, (unsigned long long)c->bytes, send_mode ? "errors" : "other",
			 (unsigned long long)c->other);

	if (n < 0 || (size_t)n >= sizeof(line))
		die(1, "report line too long");
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		die(1, "write: %s", strerror(errno));
}

/* Parse an unsigned decimal option value in [min, max]. */
static unsigned long long parse_num(const char *s, unsigned long long min, unsigned long long max, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		die(2, "%s: %s is not a number in %llu-%llu", what, s, min, max);
	return v;
}

/* Parse address:port or [v6]:port into a socket address; its length. */
static socklen_t parse_addr(const char *s, struct sockaddr_storage *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hlen;
	struct addrinfo hints, *res;
	socklen_t len;
	int err;

	if (!colon || colon == s || !colon[1])
		die(2, "%s: want address:port", s);
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			die(2, "%s: want [address]:port", s);
		h = s + 1;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		die(2, "%s: address too long", s);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	parse_num(colon + 1, 1, 65535, "port");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	err = getaddrinfo(host, colon + 1, &hints, &res);
	if (err)
		die(2, "%s: %s", s, gai_strerror(err));
	if (res->ai_addrlen > sizeof(*out))
		die(2, "%s: address too long", s);
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	len = res->ai_addrlen;
	freeaddrinfo(res);
	return len;
}

/* A UDP socket of the address's family, bound to it, with big buffers (forced as root). */
static int sock_bound(const struct sockaddr_storage *a, socklen_t alen)
{
	int fd = socket(a->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), buf = SOCK_BUF_BYTES;

	if (fd < 0)
		die(1, "socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)) < 0)
		die(1, "SO_SNDBUF: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)) < 0)
		die(1, "SO_RCVBUF: %s", strerror(errno));
	if (bind(fd, (const struct sockaddr *)a, alen) < 0)
		die(1, "bind: %s", strerror(errno));
	return fd;
}

/* Write a little-endian value of n bytes. */
static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The send mode. */
static int run_send(uint64_t rate, size_t len, uint64_t seconds, uint32_t index, int gso, const char *src,
		    const char *dst)
{
	static uint8_t bufs[BATCH][LEN_MAX];
	static uint8_t gbuf[GSO_BYTES_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	struct msghdr gmsg;
	struct iovec giov;
	unsigned int batch = BATCH;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage sa, da;
	socklen_t salen = parse_addr(src, &sa), dalen = parse_addr(dst, &da);
	struct counts c = { 0, 0, 0 };
	/* Token bucket in units of ns x rate: a datagram costs 1e9, exact for any rate. */
	uint64_t start, end, last, credit = 0, cap = 0, counter = 0, min_n = 1;
	int fd;

	if (sa.ss_family != da.ss_family)
		die(2, "%s and %s are not of one address family", src, dst);
	fd = sock_bound(&sa, salen);
	if (connect(fd, (const struct sockaddr *)&da, dalen) < 0)
		die(1, "connect %s: %s", dst, strerror(errno));
	memset(bufs, 0, sizeof(bufs));
	for (int i = 0; i < BATCH; i++) {
		bufs[i][0] = 4;
		put_le(bufs[i] + 4, index, 4);
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = len;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	if (gso) {
		/* One buffer of datagrams back to back, each shaped like the batch's; the kernel splits it. */
		struct cmsghdr *cm;
		uint16_t seg = (uint16_t)len;

		batch = GSO_BYTES_MAX / len < GSO_SEGS_MAX ? (unsigned int)(GSO_BYTES_MAX / len) : GSO_SEGS_MAX;
		memset(gbuf, 0, sizeof(gbuf));
		for (unsigned int i = 0; i < batch; i++) {
			gbuf[i * len] = 4;
			put_le(gbuf + i * len + 4, index, 4);
		}
		memset(&gmsg, 0, sizeof(gmsg));
		memset(&ctl, 0, sizeof(ctl));
		gmsg.msg_iov = &giov;
		gmsg.msg_iovlen = 1;
		gmsg.msg_control = ctl.buf;
		gmsg.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&gmsg);
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
		giov.iov_base = gbuf;
	}
	if (rate) {
		/* Bursts of a millisecond's worth (at most a batch): one wakeup per burst, not per datagram. */
		min_n = rate / 1000 < batch ? rate / 1000 : batch;
		if (!min_n)
			min_n = 1;
		cap = (uint64_t)BURST_MS * 1000000u * rate;
		if (cap < COST)
			cap = COST;
	}
	start = last = now_ns();
	end = seconds ? start + seconds * 1000000000u : 0;
	while (!stop_flag) {
		uint64_t now = now_ns();
		unsigned int n = batch;

		if (report_flag) {
			report_flag = 0;
			report(1, "report", &c);
		}
		if (end && now >= end)
			break;
		if (rate) {
			/* Capped before the multiplication: no overflow after a long preemption. */
			uint64_t dt = now - last;
			credit = dt >= cap / rate ? cap : credit + dt * rate > cap ? cap : credit + dt * rate;
			last = now;
			if (credit < min_n * COST) {
				/* Sleep until the next burst is due (a signal cuts it short). */
				uint64_t wait_ns = (min_n * COST - credit + rate - 1) / rate;
				struct timespec ts = { (time_t)(wait_ns / 1000000000u), (long)(wait_ns % 1000000000u) };
				nanosleep(&ts, NULL);
				continue;
			}
			if (credit / COST < n)
				n = (unsigned int)(credit / COST);
		}
		int k;
		if (gso) {
			for (unsigned int i = 0; i < n; i++)
				put_le(gbuf + i * len + 8, counter + i, 8);
			giov.iov_len = n * len;
			/* A single datagram goes without the option: nothing to split. */
			gmsg.msg_controllen = n > 1 ? sizeof(ctl.buf) : 0;
			ssize_t w = sendmsg(fd, &gmsg, 0);
			if (w >= 0 && (size_t)w != n * len)
				die(1, "sendmsg: %zd of %zu bytes", w, n * len);
			k = w < 0 ? -1 : (int)n;
		} else {
			for (unsigned int i = 0; i < n; i++)
				put_le(bufs[i] + 8, counter + i, 8);
			k = sendmmsg(fd, msgs, n, 0);
		}
		if (k < 0) {
			if (errno == EINTR)
				continue;
			/* No buffer, or an ICMP error from an earlier datagram: this one (buffer) is lost, count it. */
			if (errno != ENOBUFS && errno != ECONNREFUSED && errno != EAGAIN)
				die(1, "%s: %s", gso ? "sendmsg" : "sendmmsg", strerror(errno));
			k = gso ? (int)n : 1;
			c.other += (uint64_t)k;
		} else {
			c.packets += (uint64_t)k;
			c.bytes += (uint64_t)k * len;
		}
		counter += (uint64_t)k;
		if (rate)
			credit -= (uint64_t)k * COST;
	}
	report(1, "end", &c);
	close(fd);
	return 0;
}

/* True when the datagram is shaped like the sender's. */
static int looks_sent(const uint8_t *p, size_t len)
{
	return len >= LEN_MIN && p[0] == 4 && !p[1] && !p[2] && !p[3];
}

/* The sink mode. */
static int run_sink(uint64_t seconds, const char *addr)
{
	static uint8_t bufs[BATCH][LEN_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage a;
	socklen_t alen = parse_addr(addr, &a);
	struct counts c = { 0, 0, 0 };
	uint64_t end = seconds ? now_ns() + seconds * 1000000000u : 0;
	int fd = sock_bound(&a, alen);

	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop_flag) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (report_flag) {
			report_flag = 0;
			report(0, "report", &c);
		}
		if (end && now_ns() >= end)
			break;
		/* Poll only once the queue is empty: under load every call reads a full batch. */
		int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EINTR && errno != EAGAIN)
				die(1, "recvmmsg: %s", strerror(errno));
			if (errno == EAGAIN && poll(&pfd, 1, POLL_MS) < 0 && errno != EINTR)
				die(1, "poll: %s", strerror(errno));
			continue;
		}
		for (int i = 0; i < n; i++) {
			size_t len = msgs[i].msg_len;
			if (!(msgs[i].msg_hdr.msg_flags & MSG_TRUNC) && looks_sent(bufs[i], len)) {
				c.packets++;
				c.bytes += len;
			} else {
				c.other++;
			}
			msgs[i].msg_hdr.msg_flags = 0;
		}
	}
	report(0, "end", &c);
	close(fd);
	return 0;
}

/* Print the usage and exit 2. */
static void usage(void)
{
	fputs("usage: bench-relay-load send [-g] [-r RATE] [-l LEN] [-t SECONDS] [-i INDEX] SRC DST\n"
	      "       bench-relay-load sink [-t SECONDS] ADDR\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t rate = 0, seconds = 0;
	size_t len = 64;
	uint32_t index = 1;
	int send_mode = 0, opt, gso = 0;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "send") == 0)
		send_mode = 1;
	else if (strcmp(argv[1], "sink") == 0)
		send_mode = 0;
	else
		usage();
	optind = 2;
	while ((opt = getopt(argc, argv, send_mode ? "gr:l:t:i:" : "t:")) != -1) {
		switch (opt) {
		case 'g':
			gso = 1;
			break;
		case 'r':
			rate = parse_num(optarg, 0, 100000000, "-r");
			break;
		case 'l':
			len = (size_t)parse_num(optarg, LEN_MIN, LEN_MAX, "-l");
			break;
		case 't':
			seconds = parse_num(optarg, 0, 86400, "-t");
			break;
		case 'i':
			index = (uint32_t)parse_num(optarg, 0, UINT32_MAX, "-i");
			break;
		default:
			usage();
		}
	}
	signals_init();
	if (send_mode) {
		if (argc - optind != 2)
			usage();
		return run_send(rate, len, seconds, index, gso, argv[optind], argv[optind + 1]);
	}
	if (argc - optind != 1)
		usage();
	return run_sink(seconds, argv[optind]);
}
