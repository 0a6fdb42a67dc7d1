/* SPDX-License-Identifier: MIT */
/* Names of the listener counters' query types and response codes (status and metrics). */
#include "registry-listener.h"

/* Name of a counted query type. */
const char *registry_listener_qtype_name(enum registry_qtype t)
{
	static const char *const names[REG_QTYPE_MAX] = {
		"A", "AAAA", "SRV", "TXT", "PTR", "SOA", "NS", "ANY", "other",
	};

	return t < REG_QTYPE_MAX ? names[t] : "?";
}

/* Name of a counted response code. */
const char *registry_listener_rcode_name(enum registry_rcode r)
{
	static const char *const names[REG_RCODE_MAX] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "dropped",
	};

	return r < REG_RCODE_MAX ? names[r] : "?";
}
