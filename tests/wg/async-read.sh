#!/bin/bash
# SPDX-License-Identifier: MIT
# The async read path does not block the loop: wg-async-read reads a
# 5,000-peer wireguard-go device while a 10 ms timer keeps firing.
set -eu

: "${WG_ASYNC_READ:?WG_ASYNC_READ must point to the wg-async-read test program}"
. "$(dirname "$0")/lib.sh"

wg_require

DEV="wg${$}x"
wg_start "$DEV"
wg_gen_conf "$TMP/x.conf" 5000
wg setconf "$DEV" "$TMP/x.conf"
[ "$(wg show "$DEV" peers | wc -l)" -eq 5000 ] || { echo "FAIL: device setup" >&2; exit 1; }
"$WG_ASYNC_READ" "$DEV" 5000
