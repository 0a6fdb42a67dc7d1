/* SPDX-License-Identifier: MIT */
/* Fuzz the membership state file parser: any bytes give a state or a refusal with nothing kept,
 * never a crash; an accepted state prints to a file that parses back to the same state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client-state.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_state st, again;
	struct strbuf out = STRBUF_INIT;
	unsigned int line;
	int r = client_state_parse((const char *)data, size, "wg0", &st, &line);

	if (r < 0) {
		if (st.n_peers || st.peers)
			abort();   /* a refused file leaves nothing behind */
		return 0;
	}
	client_state_format(&st, "wg0", &out);
	if (client_state_parse(strbuf_str(&out), out.len, "wg0", &again, &line) != 0 ||
	    again.n_peers != st.n_peers)
		abort();
	for (size_t i = 0; i < st.n_peers; i++) {
		const struct client_state_peer *a = &st.peers[i], *b = &again.peers[i];

		if (memcmp(a->key, b->key, WG_KEY_LEN) || a->added_at != b->added_at ||
		    a->n_allowed != b->n_allowed ||
		    memcmp(a->allowed, b->allowed, a->n_allowed * sizeof(*a->allowed)))
			abort();
		if (i && memcmp(st.peers[i - 1].key, a->key, WG_KEY_LEN) >= 0)
			abort();
	}
	client_state_clear(&again);
	client_state_clear(&st);
	strbuf_free(&out);
	return 0;
}
