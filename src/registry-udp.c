/* SPDX-License-Identifier: MIT */
/* UDP DNS listener: batched reads and writes, replies from the arrival address. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "dns-answer.h"
#include "registry-udp.h"
#include "sock.h"
#include "strbuf.h"

#define UDP_BATCH 32
#define UDP_QUERY_MAX 4096          /* larger datagrams are cut (MSG_TRUNC) and dropped */
#define UDP_ANSWER_MAX 4096         /* the largest edns-size */
#define UDP_ROUNDS_PER_EVENT 8      /* batches per wakeup before yielding to the loop */
#define UDP_CMSG_LEN 64
#define UDP_SOCKET_BUF_BYTES (1024 * 1024)  /* receive and send buffers, as NSD and Knot use */

struct registry_udp {
	int fd;             /* -1 while unbound */
	int family;
	int port;           /* bound port, network order */
	union sockaddr_any addr;
	struct event_base *base;
	struct event *ev;
	registry_answer_cb cb;
	void *arg;
	struct registry_stats stats;
	struct mmsghdr in_msgs[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH];
	union sockaddr_any in_addr[UDP_BATCH];
	uint8_t in_cmsg[UDP_BATCH][UDP_CMSG_LEN];
	struct mmsghdr out_msgs[UDP_BATCH];
	struct iovec out_iov[UDP_BATCH];
	uint8_t out_cmsg[UDP_BATCH][UDP_CMSG_LEN];
	uint8_t *in_buf;    /* UDP_BATCH * UDP_QUERY_MAX */
	uint8_t *out_buf;   /* UDP_BATCH * UDP_ANSWER_MAX */
};

/* Read the arrival address and interface from the control messages. */
static void arrival(struct msghdr *mh, int port, union sockaddr_any *local, uint32_t *ifindex)
{
	memset(local, 0, sizeof(*local));
	*ifindex = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->in.sin_family = AF_INET;
			local->in.sin_addr = pi.ipi_addr;
			local->in.sin_port = (in_port_t)port;
			*ifindex = (uint32_t)pi.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->in6.sin6_family = AF_INET6;
			local->in6.sin6_addr = pi.ipi6_addr;
			local->in6.sin6_port = (in_port_t)port;
			*ifindex = (uint32_t)pi.ipi6_ifindex;
		}
	}
}

/* Control message that makes the reply leave from the address the query arrived on. */
static size_t reply_cmsg(uint8_t *buf, const union sockaddr_any *local, uint32_t ifindex)
{
	struct msghdr mh = { .msg_control = buf, .msg_controllen = UDP_CMSG_LEN };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(buf, 0, UDP_CMSG_LEN);
	if (local->sa.sa_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = local->in.sin_addr };
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	if (local->sa.sa_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = local->in6.sin6_addr };
		/* Pin the interface only where the address needs it (link-local scope). */
		if (IN6_IS_ADDR_LINKLOCAL(&local->in6.sin6_addr))
			pi.ipi6_ifindex = ifindex;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	return 0;
}

/* Prepare the receive headers for the next batch. */
static void reset_in(struct registry_udp *u)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		struct msghdr *mh = &u->in_msgs[i].msg_hdr;
		u->in_iov[i].iov_base = u->in_buf + (size_t)i * UDP_QUERY_MAX;
		u->in_iov[i].iov_len = UDP_QUERY_MAX;
		mh->msg_name = &u->in_addr[i];
		mh->msg_namelen = sizeof(u->in_addr[i]);
		mh->msg_iov = &u->in_iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = u->in_cmsg[i];
		mh->msg_controllen = UDP_CMSG_LEN;
		mh->msg_flags = 0;
	}
}

/* Send the prepared answers; what the socket refuses now is dropped (the client retries). */
static void send_batch(struct registry_udp *u, int n)
{
	int sent = 0;

	while (sent < n) {
		int r = sendmmsg(u->fd, u->out_msgs + sent, (unsigned int)(n - sent), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* Skip the message that failed (e.g. unreachable source) and go on. */
			u->stats.send_errors++;
			sent++;
			continue;
		}
		sent += r;
	}
}

/* Answer one batch; returns the number of datagrams read (0 when the socket is empty). */
static int udp_batch(struct registry_udp *u, int port)
{
	int n, out = 0;

	reset_in(u);
	n = recvmmsg(u->fd, u->in_msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &u->in_msgs[i].msg_hdr;
		union sockaddr_any local;
		uint32_t ifindex;

		if (mh->msg_flags & MSG_TRUNC) {
			u->stats.rcodes[REG_RCODE_DROPPED]++;
			continue;
		}
		arrival(mh, port, &local, &ifindex);
		struct dns_client cl = { .src = &u->in_addr[i], .local = &local, .ifindex = ifindex, .tcp = false };
		uint8_t *ans = u->out_buf + (size_t)out * UDP_ANSWER_MAX;
		size_t len = u->cb(u->arg, &u->stats, &cl, u->in_iov[i].iov_base, u->in_msgs[i].msg_len,
				   ans, UDP_ANSWER_MAX, NULL);
		if (len == 0)
			continue;
		struct msghdr *oh = &u->out_msgs[out].msg_hdr;
		memset(oh, 0, sizeof(*oh));
		u->out_iov[out].iov_base = ans;
		u->out_iov[out].iov_len = len;
		oh->msg_name = &u->in_addr[i];
		oh->msg_namelen = mh->msg_namelen;
		oh->msg_iov = &u->out_iov[out];
		oh->msg_iovlen = 1;
		oh->msg_controllen = reply_cmsg(u->out_cmsg[out], &local, ifindex);
		oh->msg_control = oh->msg_controllen ? u->out_cmsg[out] : NULL;
		out++;
	}
	if (out)
		send_batch(u, out);
	return n;
}

/* The socket is readable: answer a bounded number of batches. */
static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct registry_udp *u = arg;

	for (int r = 0; r < UDP_ROUNDS_PER_EVENT; r++)
		if (udp_batch(u, u->port) < UDP_BATCH)
			break;
}

/* Set an integer socket option. */
static int set_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* Open the socket on u->addr and start reading it. 0 or -errno with a message in err. */
static int udp_bind(struct registry_udp *u, struct strbuf *err)
{
	union sockaddr_any bound;
	socklen_t blen = sizeof(bound);
	char text[ADDR_STRLEN];
	int ret;

	u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		goto fail;
	sock_set_buffers(u->fd, UDP_SOCKET_BUF_BYTES);
	if (u->family == AF_INET6) {
		if (set_opt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0 ||
		    set_opt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) < 0)
			goto fail;
	} else if (set_opt(u->fd, IPPROTO_IP, IP_PKTINFO, 1) < 0) {
		goto fail;
	}
	if (bind(u->fd, &u->addr.sa, addr_len(&u->addr)) < 0)
		goto fail;
	if (getsockname(u->fd, &bound.sa, &blen) < 0)
		goto fail;
	u->port = u->family == AF_INET ? bound.in.sin_port : bound.in6.sin6_port;
	u->ev = event_new(u->base, u->fd, EV_READ | EV_PERSIST, udp_read_cb, u);
	if (!u->ev || event_add(u->ev, NULL) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	return 0;
fail:
	ret = -errno;
out:
	strbuf_printf(err, "listen udp %s: %s", addr_format(&u->addr, text, sizeof(text)), strerror(-ret));
	registry_udp_unbind(u);
	return ret;
}

/* Create and bind the listener. */
struct registry_udp *registry_udp_new(struct event_base *base, const union sockaddr_any *addr,
				      registry_answer_cb cb, void *arg, struct strbuf *err)
{
	struct registry_udp *u = calloc(1, sizeof(*u));
	char text[ADDR_STRLEN];
	int ret = -ENOMEM;

	if (!u)
		goto fail;
	u->fd = -1;
	u->cb = cb;
	u->arg = arg;
	u->base = base;
	u->addr = *addr;
	u->family = addr->sa.sa_family;
	u->in_buf = malloc((size_t)UDP_BATCH * UDP_QUERY_MAX);
	u->out_buf = malloc((size_t)UDP_BATCH * UDP_ANSWER_MAX);
	if (!u->in_buf || !u->out_buf)
		goto fail;
	if ((ret = udp_bind(u, err)) < 0) {
		registry_udp_free(u);
		errno = -ret;
		return NULL;
	}
	return u;
fail:
	strbuf_printf(err, "listen udp %s: %s", addr_format(addr, text, sizeof(text)), strerror(-ret));
	registry_udp_free(u);
	errno = -ret;
	return NULL;
}

/* Close the socket, keep the rest. */
void registry_udp_unbind(struct registry_udp *u)
{
	if (u->ev)
		event_free(u->ev);
	u->ev = NULL;
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

/* Bind the address again after registry_udp_unbind(). */
int registry_udp_rebind(struct registry_udp *u, struct strbuf *err)
{
	if (u->fd >= 0)
		return 0;
	return udp_bind(u, err);
}

/* Close and free. */
void registry_udp_free(struct registry_udp *u)
{
	if (!u)
		return;
	registry_udp_unbind(u);
	free(u->in_buf);
	free(u->out_buf);
	free(u);
}

/* Counters. */
const struct registry_stats *registry_udp_stats(const struct registry_udp *u)
{
	return &u->stats;
}
