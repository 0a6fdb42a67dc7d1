/* SPDX-License-Identifier: MIT */
/* Commands of the status socket protocol. */
#include <string.h>

#include "control-cmd.h"

static const struct {
	const char *name;
	enum control_cmd cmd;
} control_cmds[] = {
	{ "status", CONTROL_CMD_STATUS },
	{ "metrics", CONTROL_CMD_METRICS },
	{ "reload", CONTROL_CMD_RELOAD },
	{ "version", CONTROL_CMD_VERSION },
};

/* Parse one command line; anything but an exact command word is invalid. */
enum control_cmd control_cmd_parse(const char *line, size_t len)
{
	size_t start = 0;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	while (start < len && (line[start] == ' ' || line[start] == '\t'))
		start++;
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++) {
		size_t n = strlen(control_cmds[i].name);
		if (len - start == n && memcmp(line + start, control_cmds[i].name, n) == 0)
			return control_cmds[i].cmd;
	}
	return CONTROL_CMD_INVALID;
}

/* Name of a command. */
const char *control_cmd_name(enum control_cmd cmd)
{
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (control_cmds[i].cmd == cmd)
			return control_cmds[i].name;
	return "?";
}
