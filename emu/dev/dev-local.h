/* SPDX-License-Identifier: MIT */
/* dev-local.h — helpers shared by the device models (private to emu/dev). */
#ifndef VMSCOPE_EMU_DEV_DEV_LOCAL_H
#define VMSCOPE_EMU_DEV_DEV_LOCAL_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>

/*
 * Starts a device thread with every signal blocked, so SIGINT/SIGTERM and the vCPU kick signal
 * go to the threads that expect them and never end the process by default action on a timer
 * thread. Returns 0 or -errno.
 */
static inline int emu_dev_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

#endif
