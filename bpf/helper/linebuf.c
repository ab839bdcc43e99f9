// SPDX-License-Identifier: GPL-2.0
/* Lines read with read(2) into our own buffer (linebuf.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"

void lm_linebuf_init(struct lm_linebuf *lb, int fd)
{
	lb->fd = fd;
	lb->start = 0;
	lb->len = 0;
	lb->skipping = 0;
}

/* The next whole line, NUL-terminated, its newline removed. */
enum lm_line lm_linebuf_next(struct lm_linebuf *lb, char **line)
{
	char *p = lb->buf + lb->start;
	char *nl = memchr(p, '\n', lb->len - lb->start);

	if (!nl) {
		if (lb->start == 0 && lb->len == LM_LINE_MAX) {
			/* Full and no newline: drop it, and the rest of it when it comes. */
			int said = lb->skipping;

			lb->len = 0;
			lb->skipping = 1;
			return said ? LM_LINE_NONE : LM_LINE_TOO_LONG;
		}
		return LM_LINE_NONE;
	}
	*nl = '\0';
	lb->start = nl + 1 - lb->buf;
	if (lb->skipping) {
		lb->skipping = 0;
		return lm_linebuf_next(lb, line);
	}
	*line = p;
	return LM_LINE_OK;
}

/* One read(2): bytes read, 0 at end of file, -1 with errno (EINTR included). */
ssize_t lm_linebuf_fill(struct lm_linebuf *lb)
{
	ssize_t n;

	if (lb->start > 0) {
		/* Keep the partial line at the front: whole lines were returned. */
		memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
		lb->len -= lb->start;
		lb->start = 0;
	}
	n = read(lb->fd, lb->buf + lb->len, LM_LINE_MAX - lb->len);
	if (n > 0)
		lb->len += n;
	return n;
}
