/* SPDX-License-Identifier: MIT */
/* Commands of the status socket protocol: one line in, one reply out, then the connection closes. */
#ifndef WGSD_CONTROL_CMD_H
#define WGSD_CONTROL_CMD_H

#include <stddef.h>

/* Longest command line accepted, newline included. */
#define CONTROL_LINE_MAX 256

enum control_cmd {
	CONTROL_CMD_INVALID = 0,
	CONTROL_CMD_STATUS,
	CONTROL_CMD_METRICS,
	CONTROL_CMD_RELOAD,
	CONTROL_CMD_VERSION,
};

/* Parse one line (without its newline; a trailing '\r' and blanks are ignored). */
enum control_cmd control_cmd_parse(const char *line, size_t len);
/* Name of a command ("?" for invalid). */
const char *control_cmd_name(enum control_cmd cmd);

#endif
