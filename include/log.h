/* SPDX-License-Identifier: MIT */
/* Logging for the daemon's event-loop glue. Work modules return errors instead of logging. */
#ifndef WGSD_LOG_H
#define WGSD_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Set up logging to stderr; with journal true, prefix lines with "<N>" syslog priorities. */
void log_init(enum log_level level, bool journal);
/* Change the level at run time (reload). */
void log_set_level(enum log_level level);
/* Current level. */
enum log_level log_get_level(void);
/* Name of a level: "error", "warning", "info", "debug". */
const char *log_level_name(enum log_level level);
/* Parse a level name; returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);

/* Warning with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error without errno. */
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Informational event. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debugging detail. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
