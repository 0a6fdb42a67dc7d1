/* SPDX-License-Identifier: MIT */
/* The monotonic clock, for intervals, ages and timeouts (wall time stays time()). */
#ifndef WGSD_CLOCK_H
#define WGSD_CLOCK_H

#include <stdint.h>

/* Microseconds on CLOCK_MONOTONIC (the clock of systemd's MONOTONIC_USEC). */
uint64_t clock_monotonic_us(void);
/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t clock_monotonic_ms(void);

#endif
