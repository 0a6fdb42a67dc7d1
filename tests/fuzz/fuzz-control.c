/* SPDX-License-Identifier: MIT */
/* Fuzz the status socket's input side: the command parser, and wgsdctl's JSON reader. */
#include <stdint.h>
#include <stdlib.h>

#include "control-cmd.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum control_cmd cmd = control_cmd_parse((const char *)data, size);

	if (cmd != CONTROL_CMD_INVALID && size > CONTROL_LINE_MAX)
		abort();
	json_free(json_parse((const char *)data, size, NULL));
	return 0;
}
