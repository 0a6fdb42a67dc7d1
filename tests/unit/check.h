/* SPDX-License-Identifier: MIT */
/* Minimal assertions for wgsd's C unit tests: count failures, report them, exit non-zero. */
#ifndef WGSD_TEST_CHECK_H
#define WGSD_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do { \
	check_count++; \
	if (!(cond)) { \
		check_failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_STR_CONTAINS(hay, needle) do { \
	check_count++; \
	if (!strstr((hay), (needle))) { \
		check_failures++; \
		fprintf(stderr, "%s:%d: expected \"%s\" in:\n%s\n", __FILE__, __LINE__, (needle), (hay)); \
	} \
} while (0)

/* Print a summary and return the exit code. */
#define CHECK_DONE() ( \
	fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures), \
	check_failures ? 1 : 0)

#endif
