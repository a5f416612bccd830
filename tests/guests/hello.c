/* SPDX-License-Identifier: MIT */
/* hello: prints one line and exits with status 0 (the emulator process exits 1). */
#include "guest.h"

void guest_main(const char *cmdline)
{
	g_puts("Hello from the vmscope test guest!\n");
	g_exit(G_EXIT_OK);
}
