/* SPDX-License-Identifier: MIT */
/* Fuzz the status socket's input side: the command parser, and wgsdctl's JSON reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control-cmd.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum control_cmd cmd = control_cmd_parse((const char *)data, size);

	/* A valid command is its name with blanks around it, nothing else (the length bound is control.c's). */
	if (cmd != CONTROL_CMD_INVALID) {
		const char *name = control_cmd_name(cmd);
		size_t n = strlen(name);
		const char *hit = memmem(data, size, name, n);
		if (!hit)
			abort();
		for (size_t i = 0; i < size; i++) {
			const char *c = (const char *)data + i;
			if ((c < hit || c >= hit + n) && *c != ' ' && *c != '\t' && *c != '\r')
				abort();
		}
	}
	json_free(json_parse((const char *)data, size, NULL));
	return 0;
}
