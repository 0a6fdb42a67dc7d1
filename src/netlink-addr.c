/* SPDX-License-Identifier: MIT */
/* This host's interface addresses from rtnetlink, re-dumped after each burst of address events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>

#include "netlink-addr.h"

#define RECV_BUF_BYTES 65536

struct netlink_addr {
	struct event_base *base;
	struct mnl_socket *nl;
	struct event *ev_read;
	struct event *ev_settle;       /* runs the next dump once events settled */
	netlink_addr_cb cb;
	void *arg;
	uint32_t portid;
	uint32_t seq;                  /* of the dump in progress, 0: none */
	bool again;                    /* an event came during the dump: dump once more */
	bool interrupted;              /* the dump in progress was interrupted (NLM_F_DUMP_INTR) */
	bool ready;
	struct cand_ifaddr *table;
	size_t n;
	struct cand_ifaddr *next;      /* the dump being collected */
	size_t n_next;
	uint8_t buf[RECV_BUF_BYTES];
};

/* Read one RTM_NEWADDR message. */
int netlink_addr_parse(const struct nlmsghdr *nlh, struct cand_ifaddr *out)
{
	const struct ifaddrmsg *ifa;
	const uint8_t *local = NULL, *address = NULL;
	size_t alen, off;
	uint32_t flags;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return -ENOENT;
	if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len - sizeof(*nlh) < sizeof(*ifa))
		return -EBADMSG;
	ifa = (const struct ifaddrmsg *)((const uint8_t *)nlh + NLMSG_HDRLEN);
	if (ifa->ifa_family == AF_INET)
		alen = 4;
	else if (ifa->ifa_family == AF_INET6)
		alen = 16;
	else
		return -ENOENT;
	flags = ifa->ifa_flags;
	/* Attributes follow the aligned header; each length is checked against the message. */
	size_t len = nlh->nlmsg_len, start = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*ifa));
	for (off = start; off < len;) {
		const struct nlattr *a;
		if (len - off < sizeof(*a))
			return -EBADMSG;
		a = (const struct nlattr *)((const uint8_t *)nlh + off);
		if (a->nla_len < sizeof(*a) || a->nla_len > len - off)
			return -EBADMSG;
		const uint8_t *pl = (const uint8_t *)a + NLA_HDRLEN;
		size_t plen = a->nla_len - NLA_HDRLEN;
		switch (a->nla_type & NLA_TYPE_MASK) {
		case IFA_LOCAL:
			if (plen != alen)
				return -EBADMSG;
			local = pl;
			break;
		case IFA_ADDRESS:
			if (plen != alen)
				return -EBADMSG;
			address = pl;
			break;
		case IFA_FLAGS:
			if (plen != sizeof(uint32_t))
				return -EBADMSG;
			memcpy(&flags, pl, sizeof(flags));
			break;
		default:
			break;   /* unknown attributes are not errors */
		}
		off += NLA_ALIGN(a->nla_len);
	}
	/* IFA_LOCAL is this host's address; IFA_ADDRESS the peer's on a point-to-point link. */
	if (!local)
		local = address;
	if (!local)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifa->ifa_index;
	out->family = ifa->ifa_family;
	out->prefix = ifa->ifa_prefixlen > alen * 8 ? (uint8_t)(alen * 8) : ifa->ifa_prefixlen;
	out->scope = ifa->ifa_scope;
	out->flags = flags;
	memcpy(out->addr, local, alen);
	return 0;
}

/* Send a dump request for every address. 0 or -errno. */
static int dump_start(struct netlink_addr *na)
{
	uint8_t req[NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifaddrmsg))];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++na->seq ? na->seq : ++na->seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	free(na->next);
	na->next = calloc(NETLINK_ADDR_MAX, sizeof(*na->next));
	na->n_next = 0;
	na->again = false;
	na->interrupted = false;
	if (!na->next)
		return -ENOMEM;
	if (mnl_socket_sendto(na->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

/* Arm the settle timer: the next dump runs NETLINK_ADDR_SETTLE_MS from now, unless one is running. */
static void dump_later(struct netlink_addr *na)
{
	struct timeval tv = { 0, NETLINK_ADDR_SETTLE_MS * 1000 };

	if (na->next) {
		na->again = true;
		return;
	}
	evtimer_add(na->ev_settle, &tv);
}

/* The dump finished: swap the table in and tell the owner when it changed. */
static void dump_done(struct netlink_addr *na)
{
	bool changed = !na->ready || na->n != na->n_next ||
		       (na->n && memcmp(na->table, na->next, na->n * sizeof(*na->table)) != 0);
	bool again = na->again || na->interrupted;

	free(na->table);
	na->table = na->next;
	na->n = na->n_next;
	na->next = NULL;
	na->n_next = 0;
	na->ready = true;
	if (again)
		dump_later(na);
	if (changed)
		na->cb(na->arg);
}

/* Settle timer: dump now (a failure is retried later). */
static void settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netlink_addr *na = arg;

	if (dump_start(na) < 0) {
		free(na->next);
		na->next = NULL;
		struct timeval tv = { 1, 0 };
		evtimer_add(na->ev_settle, &tv);
	}
}

/* Handle one message of a read. */
static void handle_msg(struct netlink_addr *na, const struct nlmsghdr *nlh)
{
	bool ours = na->next && nlh->nlmsg_seq == na->seq && nlh->nlmsg_pid == na->portid;

	if (!ours) {
		/* A multicast event (or a stale reply): the table must be read again. */
		if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR)
			dump_later(na);
		return;
	}
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		na->interrupted = true;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		dump_done(na);
	} else if (nlh->nlmsg_type == NLMSG_ERROR) {
		/* The dump failed: keep the old table, try again later. */
		free(na->next);
		na->next = NULL;
		dump_later(na);
	} else if (na->n_next < NETLINK_ADDR_MAX && netlink_addr_parse(nlh, &na->next[na->n_next]) == 0) {
		na->n_next++;
	}
}

/* Readable socket: handle what arrived, a bounded number of reads per wakeup. */
static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netlink_addr *na = arg;

	for (int i = 0; i < 16; i++) {
		ssize_t n = mnl_socket_recvfrom(na->nl, na->buf, sizeof(na->buf));
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Events were lost: only a new dump tells the truth. */
				free(na->next);
				na->next = NULL;
				dump_later(na);
				continue;
			}
			return;   /* EAGAIN, or an error the next event retries */
		}
		for (size_t off = 0; off < (size_t)n;) {
			const struct nlmsghdr *nlh = (const struct nlmsghdr *)(na->buf + off);
			if ((size_t)n - off < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
			    nlh->nlmsg_len > (size_t)n - off)
				break;
			handle_msg(na, nlh);
			off += NLMSG_ALIGN(nlh->nlmsg_len);
		}
	}
}

/* Open and start. */
struct netlink_addr *netlink_addr_new(struct event_base *base, netlink_addr_cb cb, void *arg)
{
	struct netlink_addr *na = calloc(1, sizeof(*na));
	int err = ENOMEM;

	if (!na)
		goto fail;
	na->base = base;
	na->cb = cb;
	na->arg = arg;
	na->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!na->nl || mnl_socket_bind(na->nl, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		goto fail;
	}
	na->portid = mnl_socket_get_portid(na->nl);
	na->ev_read = event_new(base, mnl_socket_get_fd(na->nl), EV_READ | EV_PERSIST, read_cb, na);
	na->ev_settle = evtimer_new(base, settle_cb, na);
	if (!na->ev_read || !na->ev_settle)
		goto fail;
	event_add(na->ev_read, NULL);
	if (dump_start(na) < 0) {
		err = errno ? errno : ENOMEM;
		goto fail;
	}
	return na;
fail:
	netlink_addr_free(na);
	errno = err;
	return NULL;
}

/* Close and free. */
void netlink_addr_free(struct netlink_addr *na)
{
	if (!na)
		return;
	if (na->ev_read)
		event_free(na->ev_read);
	if (na->ev_settle)
		event_free(na->ev_settle);
	if (na->nl)
		mnl_socket_close(na->nl);
	free(na->table);
	free(na->next);
	free(na);
}

/* The current table. */
const struct cand_ifaddr *netlink_addr_list(const struct netlink_addr *na, size_t *n)
{
	*n = na->n;
	return na->table;
}

/* True once the first dump completed. */
int netlink_addr_ready(const struct netlink_addr *na)
{
	return na->ready;
}
