/* SPDX-License-Identifier: MIT */
/* UPnP discovery results: the gateway's own devices are asked first, the others keep their order. */
#include <stdlib.h>
#include <string.h>

#include <miniupnpc/upnpdev.h>

#include "check.h"
#include "portmap-upnp.h"

/* The devices (a flexible array member forbids arrays of them). */
static struct UPNPDev *devs[6];

/* Link devs[0..n) into a list, each with its description URL. */
static struct UPNPDev *make_list(char **urls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(devs[i], 0, sizeof(*devs[i]));
		devs[i]->descURL = urls[i];
		devs[i]->pNext = i + 1 < n ? devs[i + 1] : NULL;
	}
	return n ? devs[0] : NULL;
}

/* The URLs of a list in order, joined with spaces. */
static void order(const struct UPNPDev *l, char *out, size_t len)
{
	out[0] = '\0';
	for (; l; l = l->pNext) {
		strncat(out, l->descURL, len - strlen(out) - 1);
		strncat(out, " ", len - strlen(out) - 1);
	}
}

static void test_gateway_first(void)
{
	static const uint8_t gw[4] = { 192, 168, 1, 1 };
	char a[] = "http://192.168.1.254:5000/rootDesc.xml", b[] = "http://192.168.1.1:4000/rootDesc.xml",
	     c[] = "http://192.168.1.10/desc.xml", d[] = "http://192.168.1.1/x.xml",
	     e[] = "http://192.168.1.100:80/y.xml", f[] = "https://192.168.1.1/z.xml";
	char *urls[] = { a, b, c, d, e, f };
	char got[512];

	for (size_t i = 0; i < 6; i++)
		if (!(devs[i] = calloc(1, sizeof(*devs[i]))))
			return;
	order(portmap_upnp_gateway_first(make_list(urls, 6), gw), got, sizeof(got));
	/* 192.168.1.10 and .100 only start like the gateway; https is not what miniupnpc speaks. */
	CHECK(strcmp(got, "http://192.168.1.1:4000/rootDesc.xml http://192.168.1.1/x.xml "
			  "http://192.168.1.254:5000/rootDesc.xml http://192.168.1.10/desc.xml "
			  "http://192.168.1.100:80/y.xml https://192.168.1.1/z.xml ") == 0);
	/* None on the gateway: unchanged. One element, and an empty list. */
	order(portmap_upnp_gateway_first(make_list(urls + 2, 3), gw), got, sizeof(got));
	CHECK(strcmp(got, "http://192.168.1.1/x.xml http://192.168.1.10/desc.xml http://192.168.1.100:80/y.xml ") == 0);
	order(portmap_upnp_gateway_first(make_list(urls + 4, 2), gw), got, sizeof(got));
	CHECK(strcmp(got, "http://192.168.1.100:80/y.xml https://192.168.1.1/z.xml ") == 0);
	CHECK(portmap_upnp_gateway_first(NULL, gw) == NULL);
	devs[0]->descURL = NULL;
	devs[0]->pNext = NULL;
	CHECK(portmap_upnp_gateway_first(devs[0], gw) == devs[0]);
	for (size_t i = 0; i < 6; i++)
		free(devs[i]);
}

int main(void)
{
	test_gateway_first();
	return CHECK_DONE();
}
