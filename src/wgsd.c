/* SPDX-License-Identifier: MIT */
/* wgsd: WireGuard peer discovery over DNS-SD, registry and client in one daemon. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "build-config.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "strbuf.h"

/* Allocations from this size up get their own mapping, returned to the system when freed. */
#define MMAP_THRESHOLD_BYTES (128 * 1024)

/* Print usage. */
static void usage(FILE *f)
{
	fprintf(f, "usage: wgsd [-dtTVh] [-c FILE]\n"
		   "  -c FILE  configuration file (default %s)\n"
		   "  -d       debug logging (overrides log-level)\n"
		   "  -t       check the configuration: silent and exit 0 if valid, errors and exit 1 if not\n"
		   "  -T       like -t, and print the valid configuration normalized (secrets hidden)\n"
		   "  -V       print the version\n"
		   "  -h       this help\n", WGSD_CONFIG_PATH);
}

/* Check a configuration file for -t (quiet when valid) or -T (print it normalized). */
static int check_config(const char *path, bool print)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct config *cfg;
	int rc = 1;

	if (config_load(path, &cfg, &err) < 0) {
		fputs(strbuf_str(&err), stderr);
		fprintf(stderr, "%s: configuration is NOT valid\n", path);
		goto out;
	}
	if (print) {
		config_print(cfg, &out);
		fputs(strbuf_str(&out), stdout);
		if (fflush(stdout) == EOF || ferror(stdout)) {
			fprintf(stderr, "%s: cannot write the normalized configuration\n", path);
			config_free(cfg);
			goto out;
		}
	}
	config_free(cfg);
	rc = 0;
out:
	strbuf_free(&err);
	strbuf_free(&out);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = WGSD_CONFIG_PATH;
	bool debug = false, test = false, print = false;
	struct daemon d;
	int ch, rc;

	while ((ch = getopt(argc, argv, "c:dtTVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 't':
			test = true;
			break;
		case 'T':
			test = print = true;
			break;
		case 'V':
			printf("wgsd %s\n", WGSD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (test)
		return check_config(path, print);

	/*
	 * Each refresh of a big zone allocates and frees megabytes (device
	 * reading, snapshot). glibc raises its mmap threshold to the size of
	 * the first such block freed and from then on serves them from the
	 * heap, which fragments and keeps the pages: RSS crept from 8 to over
	 * 16 MiB at 10,000 peers. A fixed threshold keeps them mmapped.
	 */
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
#endif
	const char *js = getenv("JOURNAL_STREAM");
	log_init(debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, js && *js);
	if (daemon_init(&d, path, debug) < 0) {
		daemon_free(&d);
		return 1;
	}
	rc = daemon_run(&d);
	daemon_free(&d);
	log_info("stopped");
	return rc;
}
