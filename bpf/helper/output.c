// SPDX-License-Identifier: GPL-2.0
/*
 * The fields of the protocol's lines. Strings that may hold any byte (comm,
 * paths) travel as hex, so that no byte can break the line framing; an
 * empty one is "-". Addresses go to Node only, which symbolises them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper.h"

__u64 lm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The number after `name` anywhere in the line (name=VALUE), else def. */
unsigned long lm_arg_ul(const char *line, const char *name, unsigned long def)
{
	const char *p = strstr(line, name);

	if (!p)
		return def;
	return strtoul(p + strlen(name), NULL, 10);
}

void lm_print_hex(FILE *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", p[i]);
}

void lm_print_comm(FILE *out, const char *comm)
{
	size_t clen = strnlen(comm, 16);

	if (clen == 0)
		fputs("-", out);
	lm_print_hex(out, (const unsigned char *)comm, clen);
}

/* At most n frames of an off-CPU stack, up to its first zero. */
void lm_print_frames(FILE *out, const __u64 *ips, int n)
{
	if (n <= 0)
		fputs("-", out);
	for (int i = 0; i < n && i < LM_OFFCPU_DEPTH && ips[i]; i++)
		fprintf(out, "%s%llx", i ? "," : "", (unsigned long long)ips[i]);
}

/* The frames of a zero-filled off-CPU stack. */
int lm_frames_of(const __u64 *ips)
{
	int n = 0;

	while (n < LM_OFFCPU_DEPTH && ips[n])
		n++;
	return n;
}
