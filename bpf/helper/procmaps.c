// SPDX-License-Identifier: GPL-2.0
/*
 * The child of the maps command: reads /proc/PID/maps of each process and
 * sends an "m" line per executable mapping, "x PID gone|denied" for one it
 * cannot open, and "d PID" when a process is done. Reading maps takes the
 * target's mmap_lock, which a sick process may hold for minutes: the parent
 * kills this child at its deadline (mmap_lock is taken killably).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procmaps.h"

/* One line of /proc/PID/maps, as the kernel's show_map_vma() writes it. */
static void send_mapping(FILE *o, unsigned long pid, char *line)
{
	unsigned long long start, end, offset;
	char perms[8];
	int name_at = 0;

	if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms,
		   &offset, &name_at) < 4)
		return;
	if (perms[2] != 'x')
		return;
	line[strcspn(line, "\n")] = 0;
	fprintf(o, "m %lu %llx %llx %llx ", pid, start, end, offset);
	if (name_at > 0 && line[name_at]) {
		for (const unsigned char *p = (const unsigned char *)line + name_at; *p; p++)
			fprintf(o, "%02x", *p);
	} else {
		fputs("-", o);
	}
	fputs("\n", o);
}

static void send_process(FILE *o, unsigned long pid)
{
	/* A path is at most PATH_MAX (4096) bytes; the rest of a line is short. */
	char path[64], line[4096 + 256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%lu/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		fprintf(o, "x %lu %s\n", pid, errno == ENOENT ? "gone" : "denied");
	} else {
		while (fgets(line, sizeof(line), f))
			send_mapping(o, pid, line);
		fclose(f);
	}
	fprintf(o, "d %lu\n", pid);
	fflush(o);
}

void lm_procmaps_child(int out, const unsigned long *pids, int n)
{
	FILE *o = fdopen(out, "w");

	if (!o)
		_exit(1);
	for (int i = 0; i < n; i++)
		send_process(o, pids[i]);
	fclose(o);
	_exit(0);
}
