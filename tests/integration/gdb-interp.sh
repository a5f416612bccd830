#!/usr/bin/env bash
# gdb against vmscope --accel interp: see gdb-guest.sh
exec "$(dirname "$0")/gdb-guest.sh" interp
