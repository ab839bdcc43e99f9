// SPDX-License-Identifier: GPL-2.0-only
/*
 * The least an exact procfs view of R/D threads can cost: once a second,
 * every thread's /proc/PID/task/TID/stat is read with pread() on a file
 * descriptor kept open from one pass to the next (a new thread costs one
 * open(), a gone one a close()), the state letter after the last ')' is
 * taken, and nothing else is done: no parsing beyond it, no stacks, no
 * output. bench/top.ts runs it next to `top -d 1` and `loadmon top --source
 * procfs`, so the procfs view's cost can be told from what the kernel
 * charges to generate the files.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct thread_fd {
	int tid;
	int fd;
	int seen;
};

static struct thread_fd *fds;
static int nfds, capacity;
static long rd_threads;	/* what was found, so the reads cannot be optimised away */

static int by_tid(const void *a, const void *b)
{
	return ((const struct thread_fd *)a)->tid - ((const struct thread_fd *)b)->tid;
}

static struct thread_fd *find(int tid)
{
	struct thread_fd key = { .tid = tid };

	return nfds ? bsearch(&key, fds, nfds, sizeof(*fds), by_tid) : NULL;
}

static void read_state(int fd)
{
	char buf[1024], *p;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p && (p[2] == 'R' || p[2] == 'D'))
		rd_threads++;
}

static void visit(const char *pid, int tid, int *added)
{
	char path[300];
	struct thread_fd *t = find(tid);

	if (!t) {
		if (nfds + *added == capacity) {
			capacity = capacity ? capacity * 2 : 4096;
			fds = realloc(fds, capacity * sizeof(*fds));
			if (!fds)
				exit(1);
		}
		snprintf(path, sizeof(path), "/proc/%s/task/%d/stat", pid, tid);
		t = &fds[nfds + (*added)++];
		*t = (struct thread_fd){ .tid = tid, .fd = open(path, O_RDONLY | O_CLOEXEC) };
	}
	t->seen = 1;
	if (t->fd >= 0)
		read_state(t->fd);
}

static void pass(void)
{
	char path[300];
	DIR *proc = opendir("/proc"), *task;
	struct dirent *p, *t;
	int i, kept, added = 0;

	for (i = 0; i < nfds; i++)
		fds[i].seen = 0;
	while (proc && (p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		task = opendir(path);
		while (task && (t = readdir(task)))
			if (atoi(t->d_name) > 0)
				visit(p->d_name, atoi(t->d_name), &added);
		if (task)
			closedir(task);
	}
	if (proc)
		closedir(proc);
	/* New entries were appended past the sorted part: mark them seen, drop the gone. */
	for (i = nfds; i < nfds + added; i++)
		fds[i].seen = 1;
	for (i = kept = 0; i < nfds + added; i++) {
		if (fds[i].seen)
			fds[kept++] = fds[i];
		else if (fds[i].fd >= 0)
			close(fds[i].fd);
	}
	nfds = kept;
	qsort(fds, nfds, sizeof(*fds), by_tid);
}

int main(void)
{
	for (;;) {
		pass();
		sleep(1);
	}
	return rd_threads < 0;
}
