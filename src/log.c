/* SPDX-License-Identifier: MIT */
/* Logging to stderr, with syslog priority prefixes under journald. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;
static bool log_journal;

static const char *const level_names[] = { "error", "warning", "info", "debug" };
/* syslog priorities: err, warning, info, debug. */
static const int level_prio[] = { 3, 4, 6, 7 };

/* Set up logging. */
void log_init(enum log_level level, bool journal)
{
	log_level = level;
	log_journal = journal;
}

/* Change the level. */
void log_set_level(enum log_level level)
{
	log_level = level;
}

/* Current level. */
enum log_level log_get_level(void)
{
	return log_level;
}

/* Name of a level. */
const char *log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_LVL_DEBUG)
		return "?";
	return level_names[level];
}

/* Parse a level name ("warn" is accepted for "warning"). */
int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(name, "warn") == 0) {
		*out = LOG_LVL_WARNING;
		return 0;
	}
	return -EINVAL;
}

/* Write one line at level, with an optional errno text. */
static void log_vwrite(enum log_level level, int err, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void log_vwrite(enum log_level level, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One event per line: never let a value break the line. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_journal)
		fprintf(stderr, "<%d>", level_prio[level]);
	else if (level <= LOG_LVL_WARNING)
		fprintf(stderr, "%s: ", level_names[level]);
	if (err)
		fprintf(stderr, "%s: %s\n", msg, strerror(err));
	else
		fprintf(stderr, "%s\n", msg);
	fflush(stderr);
}

/* Warning with strerror(errno). */
void log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARNING, err, fmt, ap);
	va_end(ap);
}

/* Warning. */
void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARNING, 0, fmt, ap);
	va_end(ap);
}

/* Error. */
void log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
}

/* Informational. */
void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
}

/* Debug detail. */
void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_DEBUG, 0, fmt, ap);
	va_end(ap);
}
