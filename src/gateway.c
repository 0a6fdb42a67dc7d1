/* SPDX-License-Identifier: MIT */
/*
 * The default gateway is the IPv4 route 0.0.0.0/0 of the main table, of
 * type unicast, with a gateway address (a default route straight out of a
 * device, as a full-tunnel WireGuard's in its own table, names no router
 * to ask); with several, the lowest metric, as the kernel would choose.
 * Other tables are left alone: policy routing (wg-quick's table 51820) is
 * for traffic, not for finding the LAN's router.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "gateway.h"

/* Build the dump request. */
int gateway_build_dump(void *buf, size_t len, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (len < GATEWAY_REQ_BUF_LEN)
		return -ENOSPC;
	memset(buf, 0, GATEWAY_REQ_BUF_LEN);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	return (int)nlh->nlmsg_len;
}

/* Start a scan. */
void gateway_scan_init(struct gateway_scan *s, uint32_t seq)
{
	memset(s, 0, sizeof(*s));
	s->seq = seq;
}

/* What one route message says, as far as the default gateway is concerned. */
struct route_info {
	bool is_default_main;          /* IPv4 0.0.0.0/0 in the main table */
	bool usable;                   /* ... and unicast through a gateway */
	struct gateway gw;
};

/* Read a route message's header and attributes; -EBADMSG when truncated. */
static int route_read(const struct nlmsghdr *nlh, struct route_info *ri)
{
	const struct rtmsg *rtm;
	size_t len = mnl_nlmsg_get_payload_len(nlh), off;
	uint32_t table;
	bool has_gw = false;

	memset(ri, 0, sizeof(*ri));
	if (len < sizeof(*rtm))
		return -EBADMSG;
	rtm = mnl_nlmsg_get_payload(nlh);
	table = rtm->rtm_table;
	off = MNL_ALIGN(sizeof(*rtm));
	while (off < len) {
		const struct nlattr *a = (const struct nlattr *)((const uint8_t *)rtm + off);
		size_t plen;

		if (len - off < sizeof(*a) || a->nla_len < sizeof(*a) || a->nla_len > len - off)
			return -EBADMSG;
		plen = a->nla_len - sizeof(*a);
		switch (a->nla_type & NLA_TYPE_MASK) {
		case RTA_TABLE:
			if (plen >= 4)
				memcpy(&table, mnl_attr_get_payload(a), 4);
			break;
		case RTA_GATEWAY:
			if (plen == 4) {
				memcpy(ri->gw.addr, mnl_attr_get_payload(a), 4);
				has_gw = true;
			}
			break;
		case RTA_OIF:
			if (plen >= 4)
				memcpy(&ri->gw.ifindex, mnl_attr_get_payload(a), 4);
			break;
		case RTA_PRIORITY:
			if (plen >= 4)
				memcpy(&ri->gw.metric, mnl_attr_get_payload(a), 4);
			break;
		default:
			break;
		}
		off += MNL_ALIGN(a->nla_len);
	}
	ri->is_default_main = rtm->rtm_family == AF_INET && rtm->rtm_dst_len == 0 && table == RT_TABLE_MAIN;
	ri->usable = ri->is_default_main && rtm->rtm_type == RTN_UNICAST && has_gw;
	return 0;
}

/* Feed one dump message. */
int gateway_scan_feed(struct gateway_scan *s, const struct nlmsghdr *nlh)
{
	struct route_info ri;
	int code;

	if (nlh->nlmsg_seq != s->seq)
		return 0;
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		return -EINTR;
	switch (nlh->nlmsg_type) {
	case NLMSG_DONE:
		return 1;
	case NLMSG_ERROR:
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
			return -EBADMSG;
		memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
		/* An errno value, or the message is not one: its negation must not overflow either. */
		if (code == 0 || code < -4095 || code > 4095)
			return -EBADMSG;
		return code > 0 ? -code : code;
	case RTM_NEWROUTE:
		if (route_read(nlh, &ri) < 0)
			return -EBADMSG;
		if (ri.usable && (!s->found || ri.gw.metric < s->best.metric)) {
			s->best = ri.gw;
			s->found = true;
		}
		return 0;
	default:
		return 0;
	}
}

/* Is this notification about a default route? */
bool gateway_is_default_change(const struct nlmsghdr *nlh)
{
	struct route_info ri;

	if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
		return false;
	return route_read(nlh, &ri) == 0 && ri.is_default_main;
}

/* Same router on the same interface? (A new metric alone changes nothing for a mapping.) */
bool gateway_equal(const struct gateway *a, const struct gateway *b)
{
	return memcmp(a->addr, b->addr, 4) == 0 && a->ifindex == b->ifindex;
}
