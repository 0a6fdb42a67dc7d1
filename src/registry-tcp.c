/* SPDX-License-Identifier: MIT */
/* TCP DNS listener (RFC 7766): framing, pipelining, connection cap, timeouts, streamed transfers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "dns-answer.h"
#include "registry-tcp.h"
#include "strbuf.h"

#define TCP_BACKLOG 128
#define TCP_ACCEPT_PER_EVENT 64      /* bounded work per wakeup: a connection flood cannot starve UDP */
#define TCP_EMFILE_PAUSE_MS 100
#define TCP_READ_MIN 4096             /* input buffer: room for a burst of pipelined queries */
#define TCP_MSG_MAX (2 + 65535)
/*
 * Queued output above which no more queries are answered. Checked before an
 * answer is added, so a connection holds at most this plus one answer (and
 * one input message): 256 connections that never read stay near 48 MiB in
 * the worst case. One maximum answer in flight keeps a reading client busy.
 */
#define TCP_OUT_MAX_BYTES (64 * 1024)
/*
 * A stream counts as complete once the client acknowledged its last byte:
 * while data waits in the kernel (SIOCOUTQ), the connection is polled this
 * often; a reset meanwhile makes it a transfer cut off.
 */
#define TCP_DRAIN_POLL_MS 20

struct tcp_conn {
	TAILQ_ENTRY(tcp_conn) link;
	struct registry_tcp *t;
	int fd;
	struct event *rev;
	struct event *wev;
	struct event *timer;
	struct evbuffer *out;
	uint8_t *in;
	size_t in_len;
	size_t in_cap;
	bool reading;                     /* read event armed */
	bool eof;                         /* client closed its side: finish writing, then close */
	struct registry_stream *stream;   /* a transfer being sent: nothing else is answered meanwhile */
	bool stream_done;                 /* its last message is queued */
	struct event *drain_ev;           /* polls until the client acknowledged the stream's last byte */
	uint64_t written;                 /* bytes handed to the kernel */
	uint64_t acked_seen;              /* of those, acknowledged by the client at the last idle timeout */
	union sockaddr_any peer;
	union sockaddr_any local;
	uint32_t ifindex;                 /* interface the connection arrived on, 0: unknown */
};

TAILQ_HEAD(tcp_conn_list, tcp_conn);

struct registry_tcp {
	int fd;                           /* listening socket, -1 while unbound */
	union sockaddr_any addr;
	struct event_base *base;
	struct event *accept_ev;
	struct event *resume_ev;          /* re-enables accept after EMFILE */
	bool accepting;
	unsigned int max_conns;
	unsigned int idle_timeout_ms;
	registry_answer_cb cb;
	void *arg;
	struct registry_stats stats;
	struct tcp_conn_list conns;
	size_t n_conns;
	uint8_t *scratch;                 /* one answer: length prefix + 65535 */
};

/* Arm or disarm the accept event. */
static void set_accepting(struct registry_tcp *t, bool on)
{
	if (on == t->accepting || !t->accept_ev)
		return;
	if (on)
		event_add(t->accept_ev, NULL);
	else
		event_del(t->accept_ev);
	t->accepting = on;
}

/* Close and free a connection. */
static void conn_free(struct tcp_conn *c)
{
	struct registry_tcp *t = c->t;

	TAILQ_REMOVE(&t->conns, c, link);
	t->n_conns--;
	if (c->stream)
		c->stream->end(c->stream, false);
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->timer)
		event_free(c->timer);
	if (c->drain_ev)
		event_free(c->drain_ev);
	if (c->out)
		evbuffer_free(c->out);
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c);
}

/* Restart the idle timer (activity seen). */
static void conn_touch(struct tcp_conn *c)
{
	struct timeval tv = { c->t->idle_timeout_ms / 1000, (c->t->idle_timeout_ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* True when the input buffer starts with a complete message (or a zero length, which closes). */
static bool conn_has_msg(const struct tcp_conn *c)
{
	return c->in_len >= 2 && c->in_len - 2 >= ((size_t)c->in[0] << 8 | c->in[1]);
}

/*
 * Arm the read event when the output queue is small and no complete query
 * waits in the input buffer (those are answered first), disarm it otherwise.
 */
static void conn_update_read(struct tcp_conn *c)
{
	bool want = !c->eof && !c->stream && evbuffer_get_length(c->out) < TCP_OUT_MAX_BYTES && !conn_has_msg(c);

	if (want == c->reading)
		return;
	if (want)
		event_add(c->rev, NULL);
	else
		event_del(c->rev);
	c->reading = want;
}

/*
 * Queue a stream's next message while the output is below its limit (the
 * same limit as answers: a slow reader holds at most that plus one message).
 * One message per call, so the loop answers queries between messages (a
 * signed one costs about a millisecond and a half through ldns); conn_flush()
 * asks for the next turn while there is room. False when the connection was
 * closed (the stream failed).
 */
static bool conn_pump(struct tcp_conn *c)
{
	struct registry_tcp *t = c->t;

	if (c->stream && !c->stream_done && evbuffer_get_length(c->out) < TCP_OUT_MAX_BYTES) {
		int n = c->stream->next(c->stream, t->scratch + 2, TCP_MSG_MAX - 2);
		if (n < 0 || n > TCP_MSG_MAX - 2) {
			conn_free(c);
			return false;
		}
		if (n == 0) {
			c->stream_done = true;
			return true;
		}
		t->scratch[0] = (uint8_t)(n >> 8);
		t->scratch[1] = (uint8_t)n;
		if (evbuffer_add(c->out, t->scratch, (size_t)n + 2) < 0) {
			conn_free(c);
			return false;
		}
	}
	return true;
}

static void conn_drain_cb(evutil_socket_t fd, short what, void *arg);

/*
 * The stream's last message left our buffer: end it as complete once the
 * client acknowledged every byte, as cut off if the connection failed
 * meanwhile (polling every TCP_DRAIN_POLL_MS; the idle timeout ends a client
 * that stops acknowledging). False when the connection was closed.
 */
static bool conn_stream_settle(struct tcp_conn *c)
{
	int err = 0, unacked = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
		conn_free(c);
		return false;
	}
	if (ioctl(c->fd, SIOCOUTQ, &unacked) == 0 && unacked > 0) {
		struct timeval tv = { 0, TCP_DRAIN_POLL_MS * 1000 };
		if (!c->drain_ev)
			c->drain_ev = evtimer_new(c->t->base, conn_drain_cb, c);
		if (c->drain_ev)
			evtimer_add(c->drain_ev, &tv);
		if (c->drain_ev)
			return true;
	}
	struct registry_stream *st = c->stream;
	c->stream = NULL;
	c->stream_done = false;
	if (c->drain_ev)
		evtimer_del(c->drain_ev);
	st->end(st, true);
	return true;
}

/* Write what the socket takes; false when the connection was closed. */
static bool conn_flush(struct tcp_conn *c)
{
	if (!conn_pump(c))
		return false;
	while (evbuffer_get_length(c->out) > 0) {
		int n = evbuffer_write(c->out, c->fd);
		if (n > 0) {
			c->written += (uint64_t)n;
			conn_touch(c);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		conn_free(c);
		return false;
	}
	if (c->stream && c->stream_done && evbuffer_get_length(c->out) == 0 && !conn_stream_settle(c))
		return false;
	size_t out = evbuffer_get_length(c->out);
	bool producing = c->stream && !c->stream_done;
	if (out > 0 || producing)
		event_add(c->wev, NULL);
	else
		event_del(c->wev);
	if (producing && out < TCP_OUT_MAX_BYTES) {
		/* Room again: the write callback queues the stream's next messages on the next turn. */
		event_active(c->wev, EV_WRITE, 0);
	} else if (!c->stream && out < TCP_OUT_MAX_BYTES && conn_has_msg(c)) {
		/*
		 * Answering stopped at the output limit and the socket took it all:
		 * no read or write event would fire for the queries still waiting.
		 * Run the write callback (which answers them) on the next loop turn.
		 */
		event_active(c->wev, EV_WRITE, 0);
	} else if (c->eof && out == 0 && !c->stream) {
		/* Half-closed and nothing left to answer (a partial message never completes). */
		conn_free(c);
		return false;
	}
	conn_update_read(c);
	return true;
}

/* Give back input buffer memory: none while empty, TCP_READ_MIN after a large message. */
static void conn_shrink(struct tcp_conn *c)
{
	if (c->in_len == 0) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	} else if (c->in_cap > TCP_READ_MIN && c->in_len <= TCP_READ_MIN) {
		uint8_t *p = realloc(c->in, TCP_READ_MIN);
		if (p) {
			c->in = p;
			c->in_cap = TCP_READ_MIN;
		}
	}
}

/* Answer every complete message in the input buffer; false when the connection was closed. */
static bool conn_process(struct tcp_conn *c)
{
	struct registry_tcp *t = c->t;
	size_t pos = 0;

	while (!c->stream && c->in_len - pos >= 2 && evbuffer_get_length(c->out) < TCP_OUT_MAX_BYTES) {
		size_t mlen = (size_t)c->in[pos] << 8 | c->in[pos + 1];
		if (mlen == 0) {
			conn_free(c);
			return false;
		}
		if (c->in_len - pos - 2 < mlen)
			break;
		struct dns_client cl = { .src = &c->peer, .local = &c->local, .ifindex = c->ifindex, .tcp = true };
		struct registry_stream *stream = NULL;
		size_t n = t->cb(t->arg, &t->stats, &cl, c->in + pos + 2, mlen, t->scratch + 2, TCP_MSG_MAX - 2, &stream);
		c->stream = stream;
		if (n > 0) {
			t->scratch[0] = (uint8_t)(n >> 8);
			t->scratch[1] = (uint8_t)n;
			if (evbuffer_add(c->out, t->scratch, n + 2) < 0) {
				conn_free(c);
				return false;
			}
		}
		pos += 2 + mlen;
		conn_touch(c);
	}
	if (pos) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
		conn_shrink(c);
	}
	return true;
}

/* Grow the input buffer so that the message being received fits. 0 or -ENOMEM. */
static int conn_reserve(struct tcp_conn *c)
{
	size_t need = TCP_READ_MIN;

	if (c->in_len >= 2)
		need = 2 + ((size_t)c->in[0] << 8 | c->in[1]);
	if (need < c->in_len + 1)
		need = c->in_len + 1;
	if (need > TCP_MSG_MAX)
		need = TCP_MSG_MAX;
	if (need <= c->in_cap)
		return 0;
	uint8_t *p = realloc(c->in, need);
	if (!p)
		return -ENOMEM;
	c->in = p;
	c->in_cap = need;
	return 0;
}

/* Data (or EOF) from the client. */
static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;

	if (conn_reserve(c) < 0 || c->in_len >= c->in_cap) {
		conn_free(c);
		return;
	}
	ssize_t n = read(fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_free(c);
		return;
	}
	if (n == 0) {
		/* Half-close: answer what is complete, send it, then close. */
		c->eof = true;
		if (conn_process(c))
			conn_flush(c);
		return;
	}
	c->in_len += (size_t)n;
	if (conn_process(c))
		conn_flush(c);
}

/* The socket can take more output. */
static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;

	if (!conn_flush(c))
		return;
	/* Reading may have stopped on a full queue: answer what waits in the input buffer. */
	if (c->in_len && conn_process(c))
		conn_flush(c);
}

/* Check again whether the client acknowledged the end of a stream; then answer what waits. */
static void conn_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;

	if (conn_flush(c) && !c->stream && c->in_len && conn_process(c))
		conn_flush(c);
}

/* No query and no output progress within the idle timeout. */
static void conn_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	int unsent = 0;

	if (ioctl(c->fd, SIOCOUTQ, &unsent) < 0)
		unsent = 0;
	if (evbuffer_get_length(c->out) > 0 || unsent > 0) {
		/*
		 * A client that acknowledged more since the last timeout reads, if
		 * slowly (a secondary on a thin link): not stalled. The kernel's
		 * buffer can hold seconds of such a transfer, so our own writes may
		 * pause longer than the timeout while it drains.
		 */
		uint64_t acked = c->written - (uint64_t)(unsent > 0 ? unsent : 0);
		if (acked > c->acked_seen) {
			c->acked_seen = acked;
			conn_touch(c);
			return;
		}
		/*
		 * Output is stuck: the client does not read. A plain close would queue
		 * the FIN behind the unsent data and keep the kernel's buffers for it;
		 * reset the connection instead (SO_LINGER with zero time).
		 */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		c->t->stats.tcp_dropped_stalled++;
	} else {
		c->t->stats.tcp_closed_idle++;
	}
	conn_free(c);
}

/* Set an integer socket option. */
static int set_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/*
 * Interface a connection arrived on, as UDP's IP_PKTINFO tells it per
 * datagram (access = peers needs it). Linux records, on the socket it creates
 * for the connection, the interface of the packet that completed the
 * handshake: IPv6 sockets (IPv4-mapped connections included) report it as
 * IPV6_MULTICAST_IF, IPv4 sockets as the in_pktinfo that IP_PKTOPTIONS
 * returns when IP_PKTINFO is on (set on the listener, inherited). A spoofed
 * source cannot complete a handshake, and a local client (loopback) shows
 * as lo, not as the WireGuard interface. 0 when unknown: access = peers
 * then refuses.
 */
static uint32_t conn_arrival_ifindex(int fd, int family)
{
	union {
		struct cmsghdr align;
		uint8_t buf[128];
	} ctl;
	socklen_t len;

	if (family == AF_INET6) {
		int idx = 0;
		len = sizeof(idx);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, &len) < 0 || len != sizeof(idx) || idx < 0)
			return 0;
		return (uint32_t)idx;
	}
	len = sizeof(ctl.buf);
	if (getsockopt(fd, IPPROTO_IP, IP_PKTOPTIONS, ctl.buf, &len) < 0 || len > sizeof(ctl.buf))
		return 0;
	struct msghdr mh = { .msg_control = ctl.buf, .msg_controllen = len };
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			return pi.ipi_ifindex > 0 ? (uint32_t)pi.ipi_ifindex : 0;
		}
	}
	return 0;
}

/* Set up a freshly accepted connection. */
static void conn_new(struct registry_tcp *t, int fd, const union sockaddr_any *peer)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	socklen_t llen = sizeof(union sockaddr_any);

	if (!c) {
		close(fd);
		return;
	}
	c->t = t;
	c->fd = fd;
	c->peer = *peer;
	TAILQ_INSERT_TAIL(&t->conns, c, link);
	t->n_conns++;
	t->stats.tcp_accepted++;
	if (getsockname(fd, &c->local.sa, &llen) < 0)
		memset(&c->local, 0, sizeof(c->local));
	c->ifindex = conn_arrival_ifindex(fd, t->addr.sa.sa_family);
	/* Answers are complete messages: send them now, not after the client's delayed ACK. */
	set_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	c->rev = event_new(t->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(t->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	c->timer = evtimer_new(t->base, conn_timeout_cb, c);
	c->out = evbuffer_new();
	if (!c->rev || !c->wev || !c->timer || !c->out || event_add(c->rev, NULL) < 0) {
		conn_free(c);
		return;
	}
	c->reading = true;
	conn_touch(c);
}

/* Resume accepting after a pause for EMFILE. */
static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct registry_tcp *t = arg;

	set_accepting(t, true);
}

/*
 * Refuse a connection over the cap. Leaving it in the kernel's backlog would
 * make the client wait (and, past the backlog, hang until its own timeout);
 * a reset (SO_LINGER with zero time) tells it at once to retry elsewhere.
 */
static void reject_full(struct registry_tcp *t, int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	t->stats.tcp_rejected_full++;
}

/* Accept pending connections; those over the cap are reset at once. */
static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct registry_tcp *t = arg;

	for (int i = 0; i < TCP_ACCEPT_PER_EVENT; i++) {
		union sockaddr_any peer;
		socklen_t plen = sizeof(peer);
		int cfd = accept4(fd, &peer.sa, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: retrying at once would spin; pause briefly. */
				struct timeval tv = { 0, TCP_EMFILE_PAUSE_MS * 1000 };
				set_accepting(t, false);
				evtimer_add(t->resume_ev, &tv);
				t->stats.tcp_paused++;
			}
			return;
		}
		if (t->n_conns >= t->max_conns)
			reject_full(t, cfd);
		else
			conn_new(t, cfd, &peer);
	}
}

/* Open the listening socket on t->addr and start accepting. 0 or -errno with a message in err. */
static int tcp_bind(struct registry_tcp *t, struct strbuf *err)
{
	char text[ADDR_STRLEN];
	int ret;

	t->fd = socket(t->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		goto fail;
	if (set_opt(t->fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		goto fail;
	if (t->addr.sa.sa_family == AF_INET6 && set_opt(t->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0)
		goto fail;
	/* Accepted sockets inherit it: IP_PKTOPTIONS then reports their arrival interface. */
	if (t->addr.sa.sa_family == AF_INET && set_opt(t->fd, IPPROTO_IP, IP_PKTINFO, 1) < 0)
		goto fail;
	if (bind(t->fd, &t->addr.sa, addr_len(&t->addr)) < 0 || listen(t->fd, TCP_BACKLOG) < 0)
		goto fail;
	t->accept_ev = event_new(t->base, t->fd, EV_READ | EV_PERSIST, accept_cb, t);
	t->resume_ev = evtimer_new(t->base, resume_cb, t);
	if (!t->accept_ev || !t->resume_ev) {
		ret = -ENOMEM;
		goto out;
	}
	set_accepting(t, true);
	return 0;
fail:
	ret = -errno;
out:
	strbuf_printf(err, "listen tcp %s: %s", addr_format(&t->addr, text, sizeof(text)), strerror(-ret));
	registry_tcp_unbind(t);
	return ret;
}

/* Create, bind and listen. */
struct registry_tcp *registry_tcp_new(struct event_base *base, const union sockaddr_any *addr,
				      unsigned int max_conns, unsigned int idle_timeout_ms,
				      registry_answer_cb cb, void *arg, struct strbuf *err)
{
	struct registry_tcp *t = calloc(1, sizeof(*t));
	char text[ADDR_STRLEN];
	int ret;

	if (!t || !(t->scratch = malloc(TCP_MSG_MAX))) {
		strbuf_printf(err, "listen tcp %s: %s", addr_format(addr, text, sizeof(text)), strerror(ENOMEM));
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->fd = -1;
	t->addr = *addr;
	t->base = base;
	t->cb = cb;
	t->arg = arg;
	TAILQ_INIT(&t->conns);
	registry_tcp_set_limits(t, max_conns, idle_timeout_ms);
	if ((ret = tcp_bind(t, err)) < 0) {
		registry_tcp_free(t);
		errno = -ret;
		return NULL;
	}
	return t;
}

/* Close the listening socket; open connections go on. */
void registry_tcp_unbind(struct registry_tcp *t)
{
	if (t->accept_ev)
		event_free(t->accept_ev);
	t->accept_ev = NULL;
	t->accepting = false;
	if (t->resume_ev)
		event_free(t->resume_ev);
	t->resume_ev = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* Listen again after registry_tcp_unbind(). */
int registry_tcp_rebind(struct registry_tcp *t, struct strbuf *err)
{
	if (t->fd >= 0)
		return 0;
	return tcp_bind(t, err);
}

/* Change limits (a lowered cap closes nothing: new connections are refused until below it). */
void registry_tcp_set_limits(struct registry_tcp *t, unsigned int max_conns, unsigned int idle_timeout_ms)
{
	t->max_conns = max_conns ? max_conns : 1;
	t->idle_timeout_ms = idle_timeout_ms ? idle_timeout_ms : 1;
}

/* Close everything. */
void registry_tcp_free(struct registry_tcp *t)
{
	if (!t)
		return;
	registry_tcp_unbind(t);
	while (!TAILQ_EMPTY(&t->conns))
		conn_free(TAILQ_FIRST(&t->conns));
	free(t->scratch);
	free(t);
}

/* Counters. */
const struct registry_stats *registry_tcp_stats(const struct registry_tcp *t)
{
	return &t->stats;
}

/* Open connections. */
size_t registry_tcp_connections(const struct registry_tcp *t)
{
	return t->n_conns;
}

/* Output queued over all connections. */
size_t registry_tcp_queued(const struct registry_tcp *t)
{
	size_t n = 0;
	const struct tcp_conn *c;

	TAILQ_FOREACH(c, &t->conns, link)
		n += evbuffer_get_length(c->out);
	return n;
}
