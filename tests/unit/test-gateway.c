/* SPDX-License-Identifier: MIT */
/* The default gateway from route dumps: main-table IPv4 unicast defaults with a gateway only,
 * the lowest metric, errors and interrupted dumps reported, truncated messages refused. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "check.h"
#include "gateway.h"

#define SEQ 77

/* Options of one route message. */
struct route {
	uint8_t family, dst_len, type, table;   /* table 0: RTA_TABLE = 254 only */
	const uint8_t *gw;                      /* NULL: no RTA_GATEWAY */
	uint32_t oif, metric;
	uint16_t msg_type;                      /* 0: RTM_NEWROUTE */
	uint32_t seq;
};

static uint8_t buf[8192];

/* Write one route message into buf; returns it. */
static struct nlmsghdr *put_route(const struct route *r)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = r->msg_type ? r->msg_type : RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = r->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_type = r->type;
	rtm->rtm_table = r->table ? r->table : RT_TABLE_MAIN;
	if (!r->table)
		mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	if (r->gw)
		mnl_attr_put(nlh, RTA_GATEWAY, 4, r->gw);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, r->oif);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	return nlh;
}

/* Feed one route to a scan. */
static int feed(struct gateway_scan *s, struct route r)
{
	if (!r.seq)
		r.seq = SEQ;
	return gateway_scan_feed(s, put_route(&r));
}

/* Feed the DONE message. */
static int feed_done(struct gateway_scan *s)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_seq = SEQ;
	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	return gateway_scan_feed(s, nlh);
}

static const uint8_t gw1[4] = { 192, 168, 1, 1 }, gw2[4] = { 192, 168, 1, 254 }, gw3[4] = { 10, 9, 9, 9 };

/* The request is an IPv4 RTM_GETROUTE dump with our sequence number. */
static void test_request(void)
{
	uint8_t req[GATEWAY_REQ_BUF_LEN];
	int n = gateway_build_dump(req, sizeof(req), SEQ);
	struct nlmsghdr *nlh = (struct nlmsghdr *)req;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	CHECK(n > 0 && (size_t)n == nlh->nlmsg_len);
	CHECK(nlh->nlmsg_type == RTM_GETROUTE && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
	CHECK(nlh->nlmsg_seq == SEQ && rtm->rtm_family == AF_INET);
	CHECK(gateway_build_dump(req, GATEWAY_REQ_BUF_LEN - 1, SEQ) == -ENOSPC);
}

/* Of several defaults, the main table's unicast one with a gateway and the lowest metric wins. */
static void test_lowest_metric_main_table(void)
{
	struct gateway_scan s;

	gateway_scan_init(&s, SEQ);
	/* Not defaults, other tables, other families, no gateway, blackhole: all ignored. */
	CHECK(feed(&s, (struct route){ .family = AF_INET, .dst_len = 24, .type = RTN_UNICAST, .gw = gw3, .oif = 2 }) == 0);
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_UNICAST, .table = 200, .gw = gw3, .oif = 5 }) == 0);
	CHECK(feed(&s, (struct route){ .family = AF_INET6, .type = RTN_UNICAST, .gw = gw3, .oif = 2 }) == 0);
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_UNICAST, .oif = 7 }) == 0);
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_BLACKHOLE, .gw = gw3, .metric = 1 }) == 0);
	CHECK(!s.found);
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw1, .oif = 2, .metric = 100 }) == 0);
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw2, .oif = 3, .metric = 50 }) == 0);
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw3, .oif = 4, .metric = 600 }) == 0);
	/* Another request's answer (or a notification) does not count. */
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw3, .oif = 9, .seq = SEQ + 1 }) == 0);
	CHECK(feed_done(&s) == 1);
	CHECK(s.found && memcmp(s.best.addr, gw2, 4) == 0 && s.best.ifindex == 3 && s.best.metric == 50);

	/* The table in rtm_table alone (no RTA_TABLE) counts too. */
	gateway_scan_init(&s, SEQ);
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_UNICAST, .table = RT_TABLE_MAIN, .gw = gw1, .oif = 2 }) == 0);
	CHECK(s.found && s.best.metric == 0);
}

/* Without a default route through a router, the scan completes with nothing found. */
static void test_none(void)
{
	struct gateway_scan s;

	gateway_scan_init(&s, SEQ);
	CHECK(feed(&s, (struct route){ .family = AF_INET, .type = RTN_UNICAST, .oif = 7 }) == 0);
	CHECK(feed_done(&s) == 1);
	CHECK(!s.found);
}

/* An error message is returned as -errno, an interrupted dump as -EINTR. */
static void test_errors(void)
{
	struct gateway_scan s;
	struct nlmsghdr *nlh;
	int code = -EPERM;

	gateway_scan_init(&s, SEQ);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = SEQ;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nlmsgerr)), &code, sizeof(code));
	CHECK(gateway_scan_feed(&s, nlh) == -EPERM);
	/* Codes that are no errno value (INT_MIN would overflow when negated) are malformed. */
	static const int bad_codes[] = { 0, -4096, 4096, -2147483647 - 1, 2147483647 };
	for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
		memcpy(mnl_nlmsg_get_payload(nlh), &bad_codes[i], sizeof(int));
		CHECK(gateway_scan_feed(&s, nlh) == -EBADMSG);
	}
	nlh->nlmsg_len = sizeof(*nlh) + 2;   /* too short for the code */
	CHECK(gateway_scan_feed(&s, nlh) == -EBADMSG);

	nlh = put_route(&(struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw1, .seq = SEQ });
	nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	CHECK(gateway_scan_feed(&s, nlh) == -EINTR);
}

/* A message whose payload or attribute runs past its length is refused. */
static void test_truncated(void)
{
	struct gateway_scan s;
	struct nlmsghdr *nlh = put_route(&(struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw1, .oif = 2, .seq = SEQ });
	uint32_t full = nlh->nlmsg_len;

	gateway_scan_init(&s, SEQ);
	for (uint32_t len = sizeof(*nlh); len < full; len++) {
		struct gateway_scan t;
		int rc;

		gateway_scan_init(&t, SEQ);
		nlh->nlmsg_len = len;
		rc = gateway_scan_feed(&t, nlh);
		/* Cut between attributes it is a valid shorter route; inside one it is malformed. */
		CHECK(rc == 0 || rc == -EBADMSG);
		CHECK(!t.found || memcmp(t.best.addr, gw1, 4) == 0);
	}
	nlh->nlmsg_len = sizeof(*nlh) + sizeof(struct rtmsg) + 8;
	struct nlattr *a = (struct nlattr *)((uint8_t *)nlh + sizeof(*nlh) + sizeof(struct rtmsg));
	a->nla_len = 200;   /* claims more than the message holds */
	CHECK(gateway_scan_feed(&s, nlh) == -EBADMSG);
	CHECK(!s.found);
}

/* Notifications: a default route of the main table added or removed is a change; others are not. */
static void test_notifications(void)
{
	CHECK(gateway_is_default_change(put_route(&(struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw1 })));
	CHECK(gateway_is_default_change(put_route(&(struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw1,
								    .msg_type = RTM_DELROUTE })));
	/* Even without a gateway: a default straight out of a device replaces the old one. */
	CHECK(gateway_is_default_change(put_route(&(struct route){ .family = AF_INET, .type = RTN_UNICAST, .oif = 3 })));
	CHECK(!gateway_is_default_change(put_route(&(struct route){ .family = AF_INET, .dst_len = 24, .type = RTN_UNICAST })));
	CHECK(!gateway_is_default_change(put_route(&(struct route){ .family = AF_INET, .type = RTN_UNICAST, .table = 200, .gw = gw1 })));
	CHECK(!gateway_is_default_change(put_route(&(struct route){ .family = AF_INET6, .type = RTN_UNICAST, .gw = gw1 })));
	CHECK(!gateway_is_default_change(put_route(&(struct route){ .family = AF_INET, .type = RTN_UNICAST, .gw = gw1,
								     .msg_type = RTM_NEWADDR })));
}

/* Two readings name the same router when address and interface agree, whatever the metric. */
static void test_equal(void)
{
	struct gateway a = { .addr = { 192, 168, 1, 1 }, .ifindex = 2, .metric = 100 }, b = a;

	b.metric = 5;
	CHECK(gateway_equal(&a, &b));
	b.ifindex = 3;
	CHECK(!gateway_equal(&a, &b));
	b = a;
	b.addr[3] = 2;
	CHECK(!gateway_equal(&a, &b));
}

int main(void)
{
	test_request();
	test_lowest_metric_main_table();
	test_none();
	test_errors();
	test_truncated();
	test_notifications();
	test_equal();
	return CHECK_DONE();
}
