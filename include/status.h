/* SPDX-License-Identifier: MIT */
/* The status document and the metrics: the daemon's own part, then each role's. */
#ifndef WGSD_STATUS_H
#define WGSD_STATUS_H

struct daemon;
struct strbuf;

/* Append the status document (one JSON object). */
void status_json(const struct daemon *d, struct strbuf *out);
/* Append Prometheus text-format metrics. */
void status_metrics(const struct daemon *d, struct strbuf *out);

#endif
