/* SPDX-License-Identifier: MIT */
/* Fuzz the client's reading of registry responses: any packet gives a status, never a crash,
 * an endpoint only when the answer really is for the peer asked about, only usable ones pass
 * the endpoint checks. (The allowed-IP reader is fuzzed by fuzz-client-members.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "client-answer.h"
#include "dns-pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[WG_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
						 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	struct client_answer ans;
	ldns_pkt *pkt = NULL;

	if (dns_pkt_from_wire(&pkt, data, size) != LDNS_STATUS_OK)
		return 0;
	client_answer_parse_srv(pkt, key, "example.com.", &ans);
	if (ans.status == CLIENT_ANSWER_OK) {
		if (ans.port == 0 || ans.n_addrs > CLIENT_ANSWER_MAX_ADDRS)
			abort();
		(void)client_answer_add_addrs(pkt, &ans);
		if (ans.n_addrs > CLIENT_ANSWER_MAX_ADDRS)
			abort();
		const struct client_answer *list[2] = { &ans, NULL };
		struct client_choice choice;
		client_answer_choose(list, 2, NULL, &choice);
		if (choice.index == 0 && addr_port(&choice.endpoint) != ans.port)
			abort();
		/* What survives the endpoint checks is usable, whatever the packet said. */
		const char *why;
		size_t before = ans.n_addrs, dropped = client_answer_filter(&ans, NULL, &why);
		if (dropped + ans.n_addrs != before || (dropped > 0) != (why != NULL))
			abort();
		for (size_t i = 0; i < ans.n_addrs; i++)
			if (client_answer_endpoint_problem(&ans.addrs[i], NULL) != NULL)
				abort();
	}
	ldns_pkt_free(pkt);
	return 0;
}
