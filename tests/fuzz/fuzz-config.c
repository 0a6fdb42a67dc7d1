/* SPDX-License-Identifier: MIT */
/* Fuzz the configuration parser: any bytes give a config or an error text, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct config *cfg = NULL, *again = NULL;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_load_string(text, "fuzz.conf", &cfg, &err) == 0) {
		/* A valid file prints to a valid file with the same sections. */
		config_print(cfg, &out);
		strbuf_reset(&err);
		if (config_load_string(strbuf_str(&out), "printed.conf", &again, &err) != 0 ||
		    again->n_zones != cfg->n_zones || again->n_clients != cfg->n_clients)
			abort();
	} else if (err.len == 0) {
		abort();  /* every rejection must say why */
	}
	config_free(again);
	config_free(cfg);
	strbuf_free(&err);
	strbuf_free(&out);
	free(text);
	return 0;
}
