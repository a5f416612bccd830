#!/usr/bin/env bash
# gdb against vmscope --accel kvm: see gdb-guest.sh
exec "$(dirname "$0")/gdb-guest.sh" kvm
