// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline for the load_monitor benchmark: read every /proc/PID/task/TID/stat
 * once, note R and D states, and time the whole scan.
 *
 *   lm-procscan [ROUNDS]
 * prints per round: "procscan threads=N running=R uninterruptible=D ns=T"
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int numeric(const char *s)
{
	return *s >= '0' && *s <= '9';
}

/* state is the field after the last ')' (comm may contain anything) */
static char stat_state(const char *path)
{
	char buf[512], *p;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : 0;
}

static void scan(void)
{
	unsigned long threads = 0, running = 0, blocked = 0;
	unsigned long long t0 = now_ns(), t1;
	struct dirent *pe, *te;
	char path[600];
	DIR *pd, *td;
	char st;

	pd = opendir("/proc");
	while (pd && (pe = readdir(pd))) {
		if (!numeric(pe->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", pe->d_name);
		td = opendir(path);
		while (td && (te = readdir(td))) {
			if (!numeric(te->d_name))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/stat",
				 pe->d_name, te->d_name);
			st = stat_state(path);
			if (!st)
				continue;
			threads++;
			running += st == 'R';
			blocked += st == 'D';
		}
		if (td)
			closedir(td);
	}
	if (pd)
		closedir(pd);
	t1 = now_ns();
	printf("procscan threads=%lu running=%lu uninterruptible=%lu ns=%llu\n",
	       threads, running, blocked, t1 - t0);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;

	while (rounds-- > 0)
		scan();
	return 0;
}
