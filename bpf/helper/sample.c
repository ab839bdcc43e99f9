// SPDX-License-Identifier: GPL-2.0
/*
 * sample depth=D skip=PID: the recorder's per-sample command. The off-CPU
 * read (ended by an "e" line) when the tracking runs, then a pass without R
 * stacks: one round trip instead of two.
 *
 * The pass runs first and its lines are held back until the read is out:
 * the read's map walks keep this CPU busy for a while, and threads woken
 * meanwhile would queue behind it and be seen as R by a pass that came
 * after (the observer inflating the very R count it measures).
 */
#include <stdlib.h>

#include "helper.h"

static void sample_in_order(struct lm_ctx *ctx, FILE *out, unsigned long depth,
			    unsigned long skip)
{
	if (ctx->offcpu_link)
		lm_offcpu_read(ctx, out);
	lm_pass(ctx, out, depth, skip, 0);
}

void cmd_sample(struct lm_ctx *ctx, FILE *out, const char *line)
{
	unsigned long depth = lm_arg_ul(line, "depth=", 20);
	unsigned long skip = lm_arg_ul(line, "skip=", 0);
	char *text = NULL;
	size_t len = 0;
	FILE *held;
	int lost;

	held = ctx->offcpu_link ? open_memstream(&text, &len) : NULL;
	if (!held) {
		/* No tracking, or no memory to hold the pass: the read goes first. */
		sample_in_order(ctx, out, depth, skip);
		return;
	}
	lm_pass(ctx, held, depth, skip, 0);
	lost = ferror(held);
	/* fclose sets text and len; a failed growth leaves them short. */
	if (fclose(held) != 0)
		lost = 1;
	lm_offcpu_read(ctx, out);
	if (lost) /* the held lines are incomplete: a pass after the read */
		lm_pass(ctx, out, depth, skip, 0);
	else
		fwrite(text, 1, len, out);
	free(text);
}
