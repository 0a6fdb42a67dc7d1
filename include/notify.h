/* SPDX-License-Identifier: MIT */
/* The systemd notify protocol, spoken directly over NOTIFY_SOCKET (no libsystemd). */
#ifndef WGSD_NOTIFY_H
#define WGSD_NOTIFY_H

#include <stdint.h>

/* Open the notify socket named by NOTIFY_SOCKET; 0 when unset (then notify_send does nothing), -errno on error. */
int notify_init(void);
/* Send one datagram of newline-separated assignments, e.g. "READY=1\nSTATUS=serving". 0 or -errno. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Watchdog interval from WATCHDOG_USEC (when WATCHDOG_PID is unset or ours); 0 when off. */
uint64_t notify_watchdog_usec(void);
/* Close the socket. */
void notify_close(void);

#endif
