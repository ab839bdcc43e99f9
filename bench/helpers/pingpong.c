// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong: two processes pinned to one CPU bounce a byte through two pipes,
 * ROUNDS times: every round is two context switches and two wakeups, the
 * worst case for a sched_switch/sched_wakeup program. Prints the mean ns per
 * round trip.
 *
 *   pingpong CPU ROUNDS
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		perror("pingpong: sched_setaffinity");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int a[2], b[2], cpu;
	long rounds;
	struct timespec t0, t1;
	char c = 0;
	pid_t child;

	if (argc != 3)
		return 2;
	cpu = atoi(argv[1]);
	rounds = atol(argv[2]);
	if (pipe(a) || pipe(b))
		return 1;
	pin(cpu);
	child = fork();
	if (child == 0) {
		for (long i = 0; i < rounds; i++) {
			if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < rounds; i++) {
		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waitpid(child, NULL, 0);
	printf("%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / rounds);
	return 0;
}
