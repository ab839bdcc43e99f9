// SPDX-License-Identifier: GPL-2.0
/*
 * loadgen: small, bounded load fixtures for loadmon's demo and tests.
 *
 *   loadgen spin SECONDS          busy loop (state R) for SECONDS
 *   loadgen vfork SECONDS         parent blocks in vfork() (state D, counts
 *                                 toward load) while the child sleeps SECONDS
 *   loadgen threads N SECONDS     N sleeping pthreads (state S)
 *   loadgen vfork-thread N SECONDS
 *                                 N sleeping threads plus one thread that
 *                                 vforks: only that thread is in D
 *   loadgen pulse MS SECONDS      short blockages: in D for MS ms (vfork),
 *                                 then asleep (S) for MS ms, repeated; in D
 *                                 half the time, never for long
 *
 * LOADGEN_COMM=name in the environment renames the task (prctl PR_SET_NAME,
 * any bytes, e.g. "x) R (y"), to test parsers against hostile comms.
 *
 * Every mode ends by itself after SECONDS, and dies with its parent
 * (PR_SET_PDEATHSIG), so a crashed test or demo leaves nothing behind.
 * Prints "ready <pid> <tid>..." on stdout once the load is in place.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double seconds;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_for(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int do_spin(void)
{
	double end = now() + seconds;
	volatile unsigned long n = 0;

	printf("ready %d %d\n", getpid(), gettid_());
	fflush(stdout);
	while (now() < end)
		for (int i = 0; i < 1000000; i++)
			n++;
	return 0;
}

/* The caller is in D (vfork_done wait) until the child exits. */
static void vfork_block(void)
{
	pid_t child = vfork();

	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sleep_for(seconds);
		_exit(0);
	}
}

static int do_vfork(void)
{
	printf("ready %d %d\n", getpid(), gettid_());
	fflush(stdout);
	vfork_block();
	return 0;
}

static int do_pulse(double ms)
{
	double end = now() + seconds;

	printf("ready %d %d\n", getpid(), gettid_());
	fflush(stdout);
	while (now() < end) {
		pid_t child = vfork();

		if (child == 0) {
			sleep_for(ms / 1000);
			_exit(0);
		}
		sleep_for(ms / 1000);
	}
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	sleep_for(seconds + 1);
	return NULL;
}

static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static pid_t vfork_tid;

static void *vforker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ready_lock);
	vfork_tid = gettid_();
	pthread_cond_signal(&ready_cond);
	pthread_mutex_unlock(&ready_lock);
	vfork_block();
	return NULL;
}

static int start_sleepers(long n)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, sleeper, NULL) != 0) {
			perror("loadgen: pthread_create");
			return -1;
		}
	}
	pthread_attr_destroy(&attr);
	return 0;
}

static int do_threads(long n, int with_vforker)
{
	pthread_t t;

	if (start_sleepers(n) < 0)
		return 1;
	if (with_vforker) {
		pthread_mutex_lock(&ready_lock);
		if (pthread_create(&t, NULL, vforker, NULL) != 0) {
			perror("loadgen: pthread_create");
			return 1;
		}
		while (vfork_tid == 0)
			pthread_cond_wait(&ready_cond, &ready_lock);
		pthread_mutex_unlock(&ready_lock);
		printf("ready %d %d\n", getpid(), vfork_tid);
	} else {
		printf("ready %d\n", getpid());
	}
	fflush(stdout);
	sleep_for(seconds + 1);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: loadgen spin|vfork SECONDS | threads|vfork-thread N SECONDS | pulse MS SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *comm = getenv("LOADGEN_COMM");

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (comm)
		prctl(PR_SET_NAME, comm);
	if (argc == 3 && (!strcmp(argv[1], "spin") || !strcmp(argv[1], "vfork"))) {
		seconds = atof(argv[2]);
		if (seconds <= 0)
			return usage();
		return argv[1][0] == 's' ? do_spin() : do_vfork();
	}
	if (argc == 4 && (!strcmp(argv[1], "threads") || !strcmp(argv[1], "vfork-thread"))) {
		long n = atol(argv[2]);

		seconds = atof(argv[3]);
		if (n < 0 || seconds <= 0)
			return usage();
		return do_threads(n, argv[1][0] == 'v');
	}
	if (argc == 4 && !strcmp(argv[1], "pulse")) {
		double ms = atof(argv[2]);

		seconds = atof(argv[3]);
		if (ms <= 0 || seconds <= 0)
			return usage();
		return do_pulse(ms);
	}
	return usage();
}
