/* SPDX-License-Identifier: MIT */
/* wgsdctl's human view of the status document. */
#ifndef WGSD_CTL_STATUS_H
#define WGSD_CTL_STATUS_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "json.h"

struct ctl_status_opts {
	const char *device;   /* -i: only this device (zones and client devices) */
	const char *peer;     /* -p: only peers whose base64 key starts with this */
	bool verbose;         /* -v: every peer, with per-registry detail */
};

/* Print doc (the daemon's status JSON) for people, as of wall-clock time now. */
void ctl_status_print(FILE *out, const struct json *doc, const struct ctl_status_opts *o, time_t now);

#endif
