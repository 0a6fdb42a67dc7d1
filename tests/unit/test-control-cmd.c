/* SPDX-License-Identifier: MIT */
/* Status socket command parsing. */
#include "check.h"
#include "control-cmd.h"

#define P(s) control_cmd_parse((s), strlen(s))

int main(void)
{
	CHECK(P("status") == CONTROL_CMD_STATUS);
	CHECK(P("metrics") == CONTROL_CMD_METRICS);
	CHECK(P("reload") == CONTROL_CMD_RELOAD);
	CHECK(P("version") == CONTROL_CMD_VERSION);
	CHECK(P("  status \r") == CONTROL_CMD_STATUS);
	CHECK(P("") == CONTROL_CMD_INVALID);
	CHECK(P("statu") == CONTROL_CMD_INVALID);
	CHECK(P("statuss") == CONTROL_CMD_INVALID);
	CHECK(P("STATUS") == CONTROL_CMD_INVALID);
	CHECK(P("status now") == CONTROL_CMD_INVALID);
	CHECK(control_cmd_parse("status\0x", 8) == CONTROL_CMD_INVALID);
	CHECK(strcmp(control_cmd_name(CONTROL_CMD_METRICS), "metrics") == 0);
	return CHECK_DONE();
}
