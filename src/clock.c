/* SPDX-License-Identifier: MIT */
/* The monotonic clock. */
#include <time.h>

#include "clock.h"

/* Microseconds on CLOCK_MONOTONIC. */
uint64_t clock_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t clock_monotonic_ms(void)
{
	return clock_monotonic_us() / 1000u;
}
