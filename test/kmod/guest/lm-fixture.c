// SPDX-License-Identifier: GPL-2.0
/*
 * Load generators for the load_monitor QEMU test (static, runs in the guest).
 *
 *   lm-fixture vfork SECS [COMM]   one process blocked in vfork() (state D)
 *                                  while its child sleeps SECS seconds
 *   lm-fixture busy                one busy loop at nice 19 (state R)
 *   lm-fixture thread-vfork SECS   a 3-thread process whose second thread
 *                                  blocks in vfork()
 *   lm-fixture threads N           a process with N sleeping threads
 *
 * Each prints one line "fixture kind=K tid=T pid=P" (to stdout, flushed)
 * before it blocks, so the test knows which tids to look for.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void announce(const char *kind)
{
	printf("fixture kind=%s tid=%d pid=%d\n", kind, tid(), getpid());
	fflush(stdout);
}

/* the calling thread blocks in vfork() until the child exits */
static void vfork_block(const char *kind, unsigned int secs)
{
	pid_t child;

	announce(kind);
	child = vfork();
	if (child == 0) {
		/* only async-signal-safe calls in a vfork child */
		struct timespec ts = { .tv_sec = secs };

		syscall(SYS_nanosleep, &ts, NULL);
		_exit(0);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
}

static void *vfork_thread(void *arg)
{
	vfork_block("thread-vfork", *(unsigned int *)arg);
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int cmd_threads(unsigned int n)
{
	pthread_attr_t attr;
	pthread_t t;
	unsigned int i;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < n; i++) {
		if (pthread_create(&t, &attr, sleeper, NULL)) {
			fprintf(stderr, "lm-fixture: only %u threads\n", i);
			break;
		}
	}
	announce("threads");
	sleeper(NULL);
	return 0;
}

static int cmd_thread_vfork(unsigned int secs)
{
	pthread_t a, b;

	pthread_create(&a, NULL, sleeper, NULL);
	pthread_create(&b, NULL, vfork_thread, &secs);
	pthread_join(b, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "vfork")) {
		if (argc >= 4)
			prctl(PR_SET_NAME, argv[3], 0, 0, 0);
		vfork_block("vfork", (unsigned int)atoi(argv[2]));
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "busy")) {
		/* lowest priority, so the test script still gets CPU time */
		setpriority(PRIO_PROCESS, 0, 19);
		announce("busy");
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	if (argc >= 3 && !strcmp(argv[1], "thread-vfork"))
		return cmd_thread_vfork((unsigned int)atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "threads"))
		return cmd_threads((unsigned int)atoi(argv[2]));
	fprintf(stderr, "usage: lm-fixture vfork SECS [COMM] | busy | thread-vfork SECS | threads N\n");
	return 2;
}
