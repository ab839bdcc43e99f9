/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lines read with read(2) into a buffer of our own: poll(2) then tells
 * exactly whether a line can still come (stdio would hide what it buffered),
 * and a line longer than the buffer is reported, not split.
 */
#ifndef LOADMON_LINEBUF_H
#define LOADMON_LINEBUF_H

#include <stddef.h>
#include <sys/types.h>

/* Longest line: a maps line carries a hex path of up to 2 x PATH_MAX bytes. */
#define LM_LINE_MAX 16384

struct lm_linebuf {
	int fd;
	size_t start; /* first byte not yet returned */
	size_t len; /* bytes held */
	int skipping; /* inside a line that was too long: drop up to its newline */
	char buf[LM_LINE_MAX + 1];
};

enum lm_line {
	LM_LINE_NONE, /* no whole line held: read more */
	LM_LINE_OK,
	LM_LINE_TOO_LONG, /* a line longer than LM_LINE_MAX, dropped */
};

void lm_linebuf_init(struct lm_linebuf *lb, int fd);
enum lm_line lm_linebuf_next(struct lm_linebuf *lb, char **line);
ssize_t lm_linebuf_fill(struct lm_linebuf *lb);

#endif
