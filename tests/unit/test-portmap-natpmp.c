/* SPDX-License-Identifier: MIT */
/* NAT-PMP datagrams handed to libnatpmp: only complete responses (it reads fields without a length). */
#include "check.h"
#include "portmap-natpmp.h"

static void test_response_ok(void)
{
	static const uint8_t address[12] = { 0, 128, 0, 0, 0, 0, 0, 9, 203, 0, 113, 1 };
	static const uint8_t mapping[16] = { 0, 129, 0, 0, 0, 0, 0, 9, 0xca, 0x6c, 0xca, 0x6c, 0, 0, 0x1c, 0x20 };
	static const uint8_t error[8] = { 0, 129, 0, 3, 0, 0, 0, 9 };
	uint8_t b[16];

	CHECK(portmap_natpmp_response_ok(address, sizeof(address)));
	CHECK(portmap_natpmp_response_ok(mapping, sizeof(mapping)));
	CHECK(portmap_natpmp_response_ok(error, sizeof(error)));
	/* Shorter than its fields: libnatpmp would read beyond what arrived. */
	for (size_t n = 0; n < sizeof(address); n++)
		CHECK(!portmap_natpmp_response_ok(address, n));
	for (size_t n = 0; n < sizeof(mapping); n++)
		CHECK(!portmap_natpmp_response_ok(mapping, n));
	for (size_t n = 0; n < sizeof(error); n++)
		CHECK(!portmap_natpmp_response_ok(error, n));
	/* Another version (PCP), a request, an unknown opcode. */
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = mapping[i];
	b[0] = 2;
	CHECK(!portmap_natpmp_response_ok(b, sizeof(b)));
	b[0] = 0;
	b[1] = 1;
	CHECK(!portmap_natpmp_response_ok(b, sizeof(b)));
	b[1] = 131;
	CHECK(!portmap_natpmp_response_ok(b, sizeof(b)));
	b[1] = 130;   /* TCP mapping response */
	CHECK(portmap_natpmp_response_ok(b, sizeof(b)));
}

int main(void)
{
	test_response_ok();
	return CHECK_DONE();
}
