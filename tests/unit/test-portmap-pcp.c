/* SPDX-License-Identifier: MIT */
/* PCP MAP on the wire: the request's bytes, responses parsed and matched, garbage refused, the epoch check. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "portmap-pcp.h"

static const uint8_t nonce[12] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab };

/* The MAP request used throughout: UDP 51820 from 192.168.1.2, 2 h, external port 51820 suggested. */
static struct portmap_pcp_map sample_map(void)
{
	struct portmap_pcp_map m;
	static const uint8_t client[4] = { 192, 168, 1, 2 };

	memset(&m, 0, sizeof(m));
	memcpy(m.nonce, nonce, sizeof(nonce));
	m.protocol = 17;
	m.internal_port = 51820;
	m.external_port = 51820;
	m.lifetime_s = 7200;
	portmap_pcp_addr_from_v4(m.client, client);
	return m;
}

/* A success response to sample_map() from a server with epoch 1000: 203.0.113.7:40000 for 3600 s. */
static size_t sample_response(uint8_t *buf)
{
	static const uint8_t resp[60] = {
		2, 0x81, 0, 0,                  /* version, R|MAP, reserved, SUCCESS */
		0, 0, 0x0e, 0x10,               /* lifetime 3600 */
		0, 0, 0x03, 0xe8,               /* epoch 1000 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* reserved */
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
		17, 0, 0, 0,                    /* UDP, reserved */
		0xca, 0x6c, 0x9c, 0x40,         /* internal 51820, external 40000 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 7,
	};

	memcpy(buf, resp, sizeof(resp));
	return sizeof(resp);
}

/* The request has RFC 6887's layout byte for byte. */
static void test_build_map_layout(void)
{
	struct portmap_pcp_map m = sample_map();
	uint8_t buf[PORTMAP_PCP_MAP_LEN + 8];
	static const uint8_t want[60] = {
		2, 1, 0, 0,                     /* version 2, R=0 MAP, reserved */
		0, 0, 0x1c, 0x20,               /* requested lifetime 7200 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 2,
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
		17, 0, 0, 0,
		0xca, 0x6c, 0xca, 0x6c,         /* internal and suggested external port 51820 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};

	CHECK(portmap_pcp_build_map(&m, buf, sizeof(buf)) == PORTMAP_PCP_MAP_LEN);
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	CHECK(portmap_pcp_build_map(&m, buf, PORTMAP_PCP_MAP_LEN - 1) == -ENOSPC);
	/* A delete is the same request with lifetime 0. */
	m.lifetime_s = 0;
	CHECK(portmap_pcp_build_map(&m, buf, sizeof(buf)) == PORTMAP_PCP_MAP_LEN);
	CHECK(buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] == 0);
	/* Our own request is not a response. */
	struct portmap_pcp_response r;
	CHECK(portmap_pcp_parse(buf, PORTMAP_PCP_MAP_LEN, &r) == -EBADMSG);
}

/* A success response gives lifetime, epoch, the assigned external address and port. */
static void test_parse_success_matches_request(void)
{
	struct portmap_pcp_map m = sample_map();
	struct portmap_pcp_response r;
	uint8_t buf[128], v4[4];

	CHECK(portmap_pcp_parse(buf, sample_response(buf), &r) == 0);
	CHECK(r.opcode == PORTMAP_PCP_OP_MAP && r.result == PORTMAP_PCP_SUCCESS);
	CHECK(r.lifetime_s == 3600 && r.epoch_s == 1000);
	CHECK(r.internal_port == 51820 && r.external_port == 40000 && r.protocol == 17);
	CHECK(portmap_pcp_addr_to_v4(r.external, v4) && v4[0] == 203 && v4[1] == 0 && v4[2] == 113 && v4[3] == 7);
	CHECK(portmap_pcp_matches(&r, &m));

	/* Options after the MAP body are skipped. */
	size_t n = sample_response(buf);
	memset(buf + n, 0, 8);
	buf[n] = 1;   /* THIRD_PARTY-like option header */
	CHECK(portmap_pcp_parse(buf, n + 8, &r) == 0 && portmap_pcp_matches(&r, &m));
}

/* A response for another nonce, protocol or internal port does not answer our request. */
static void test_mismatch_is_not_an_answer(void)
{
	struct portmap_pcp_map m = sample_map();
	struct portmap_pcp_response r;
	uint8_t buf[64];
	size_t n = sample_response(buf);

	buf[30] ^= 1;    /* nonce */
	CHECK(portmap_pcp_parse(buf, n, &r) == 0 && !portmap_pcp_matches(&r, &m));
	n = sample_response(buf);
	buf[36] = 6;     /* TCP */
	CHECK(portmap_pcp_parse(buf, n, &r) == 0 && !portmap_pcp_matches(&r, &m));
	n = sample_response(buf);
	buf[41] ^= 1;    /* internal port */
	CHECK(portmap_pcp_parse(buf, n, &r) == 0 && !portmap_pcp_matches(&r, &m));
}

/* An error result parses, with its code and how long it holds. */
static void test_error_result(void)
{
	struct portmap_pcp_response r;
	uint8_t buf[64];
	char name[32];
	size_t n = sample_response(buf);

	buf[3] = PORTMAP_PCP_NOT_AUTHORIZED;
	buf[4] = buf[5] = 0;
	buf[6] = 0;
	buf[7] = 30;
	CHECK(portmap_pcp_parse(buf, n, &r) == 0);
	CHECK(r.result == PORTMAP_PCP_NOT_AUTHORIZED && r.lifetime_s == 30);
	CHECK(strcmp(portmap_pcp_result_name(r.result, name, sizeof(name)), "NOT_AUTHORIZED") == 0);
	CHECK(strcmp(portmap_pcp_result_name(13, name, sizeof(name)), "EXCESSIVE_REMOTE_PEERS") == 0);
	CHECK(strcmp(portmap_pcp_result_name(200, name, sizeof(name)), "result 200") == 0);
}

/* A NAT-PMP-only server answers version 0 (8 bytes, UNSUPP_VERSION): another protocol, not garbage. */
static void test_natpmp_answer_is_other_version(void)
{
	static const uint8_t natpmp[8] = { 0, 0x81, 0, 1, 0, 0, 0, 42 };
	struct portmap_pcp_response r;

	CHECK(portmap_pcp_parse(natpmp, sizeof(natpmp), &r) == -EPROTONOSUPPORT);
	/* A version-1 PCP server likewise. */
	uint8_t buf[64];
	size_t n = sample_response(buf);
	buf[0] = 1;
	buf[3] = PORTMAP_PCP_UNSUPP_VERSION;
	CHECK(portmap_pcp_parse(buf, n, &r) == -EPROTONOSUPPORT);
	/* Anything else of another version is garbage, not a reason to give up on PCP. */
	buf[3] = PORTMAP_PCP_SUCCESS;
	CHECK(portmap_pcp_parse(buf, n, &r) == -EBADMSG);
	static const uint8_t short_answer[7] = { 0, 0x81, 0, 1, 0, 0, 0 };
	CHECK(portmap_pcp_parse(short_answer, sizeof(short_answer), &r) == -EBADMSG);
	static const uint8_t other_op[8] = { 0, 0x80, 0, 1, 0, 0, 0, 42 };
	CHECK(portmap_pcp_parse(other_op, sizeof(other_op), &r) == -EBADMSG);
}

/* Short, unaligned, oversized, request-shaped or unknown-opcode datagrams are refused. */
static void test_garbage_refused(void)
{
	struct portmap_pcp_response r;
	static uint8_t big[PORTMAP_PCP_MAX_LEN + 4];
	uint8_t buf[64];
	size_t n = sample_response(buf);

	/* Every truncation of a valid response (ASan checks nothing beyond len is read). */
	for (size_t len = 0; len < n; len++) {
		uint8_t copy[64];
		int rc;

		memcpy(copy, buf, len);
		rc = portmap_pcp_parse(copy, len, &r);
		CHECK(rc == -EBADMSG);
	}
	memcpy(big, buf, n);
	CHECK(portmap_pcp_parse(big, sizeof(big), &r) == -EBADMSG);
	CHECK(portmap_pcp_parse(big, PORTMAP_PCP_MAX_LEN, &r) == 0);
	n = sample_response(buf);
	buf[1] = 2 | 0x80;     /* PEER: not asked for */
	CHECK(portmap_pcp_parse(buf, n, &r) == -EBADMSG);
	n = sample_response(buf);
	buf[1] = 1;            /* R bit clear */
	CHECK(portmap_pcp_parse(buf, n, &r) == -EBADMSG);
	n = sample_response(buf);
	CHECK(portmap_pcp_parse(buf, n - 2, &r) == -EBADMSG);
}

/* An ANNOUNCE response is a bare header: opcode 0 and the epoch. */
static void test_announce(void)
{
	uint8_t buf[24] = { 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 };
	struct portmap_pcp_response r;
	struct portmap_pcp_map m = sample_map();

	CHECK(portmap_pcp_parse(buf, sizeof(buf), &r) == 0);
	CHECK(r.opcode == PORTMAP_PCP_OP_ANNOUNCE && r.epoch_s == 5);
	CHECK(!portmap_pcp_matches(&r, &m));
}

/* IPv4-mapped addresses both ways; a native IPv6 address is not IPv4. */
static void test_v4_mapped(void)
{
	uint8_t a[16], v4[4] = { 192, 0, 2, 1 }, back[4];

	portmap_pcp_addr_from_v4(a, v4);
	CHECK(a[10] == 0xff && a[11] == 0xff && a[12] == 192 && a[15] == 1);
	CHECK(portmap_pcp_addr_to_v4(a, back) && memcmp(back, v4, 4) == 0);
	a[0] = 0x20;
	CHECK(!portmap_pcp_addr_to_v4(a, back));
}

/* The epoch check of RFC 6887 8.5: steady clocks pass, a restart or a rate mismatch is a reset. */
static void test_epoch(void)
{
	struct portmap_pcp_epoch e = { 0 };

	CHECK(!portmap_pcp_epoch_update(&e, 1000, 50000));        /* first response: valid */
	CHECK(!portmap_pcp_epoch_update(&e, 1010, 60000));        /* both advanced 10 s */
	CHECK(!portmap_pcp_epoch_update(&e, 1009, 60100));        /* reordered: back 1 s is fine */
	CHECK(portmap_pcp_epoch_update(&e, 1007, 60200));         /* back 2 s: the server restarted */
	CHECK(!portmap_pcp_epoch_update(&e, 1107, 160200));       /* from the new value on, steady again */
	/* Restarted long ago: 3600 s of ours, only 900 of the server's. */
	CHECK(portmap_pcp_epoch_update(&e, 2007, 3760200));
	/* The server's clock running 10 times ours. */
	CHECK(portmap_pcp_epoch_update(&e, 2107, 3770200));
	/* Within 1/16 and 2 s of rounding: fine. */
	CHECK(!portmap_pcp_epoch_update(&e, 2107 + 1000 + 62, 4770200));
	CHECK(!portmap_pcp_epoch_update(&e, 3169 + 2000 - 120, 6770200));
	/* Our clock cannot go back, but the check must not take that for a huge delta. */
	CHECK(!portmap_pcp_epoch_update(&e, 5049, 6770100));
}

int main(void)
{
	test_build_map_layout();
	test_parse_success_matches_request();
	test_mismatch_is_not_an_answer();
	test_error_result();
	test_natpmp_answer_is_other_version();
	test_garbage_refused();
	test_announce();
	test_v4_mapped();
	test_epoch();
	return CHECK_DONE();
}
