/* The shell cell: input queue, the shell task's loop, init and exit (see shell.h). */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/string.h>
#include <delos/time.h>
#include <delos/dispatch.h>
#include "metamodules/byteq.h"
#include "cells/shell/internal.h"
#include <delos/tasks.h>

/*
 * Queues the byte, or a NUL for SHELL_INPUT_LOST; refuses it (-1) when the
 * queue is full, so the poster keeps it until "console.room" (see shell.h).
 */
int shell_on_input(uint64_t value)
{
	char c = value == SHELL_INPUT_LOST ? '\0' : (char)value;
	int n = 1;

	if (c != '\0' || value == SHELL_INPUT_LOST) {
		uint64_t flags = irq_save();
		n = byteq_push(SHELL_OWNER, SHELL_INPUT_RECORD, &c, 1, SHELL_INPUT_MAX);
		irq_restore(flags);
	}
	task_notify(SHELL_CHANNEL);
	return n == 1 ? 0 : -1;
}

/*
 * Copies up to cap typed bytes from the front of "shell/input", leaving them
 * queued, waiting for one. The editor takes what a paste queued at once: one
 * pass over the queue, not one per byte. Before it waits on an empty queue it
 * posts "console.room", for input a driver kept back while the queue was full.
 */
static int peek_input(unsigned char *out, size_t cap)
{
	for (bool asked = false;;) {
		uint64_t flags = irq_save();
		int n = byteq_peek(SHELL_INPUT_RECORD, out, cap);
		if (n < 0) {
			klog(LOG_ERR, "shell: input queue unreadable (%s); emptied", sdb_strerror(n));
			sdb_delete(SHELL_INPUT_RECORD);
		}
		bool wait = n <= 0 && asked;
		if (wait)
			task_wait(SHELL_CHANNEL); /* the test and the wait are atomic */
		irq_restore(flags);
		if (n > 0)
			return n;
		if (!wait)
			dispatch_post(SHELL_ROOM_EVENT, 0);
		asked = !wait;
	}
}

/* Keeps the line and drops the used input bytes together, so a restart neither loses nor repeats one. */
static void take_input(const struct shell_line *l, int used)
{
	uint64_t flags = irq_save();

	shell_line_store(l);
	byteq_drop(SHELL_INPUT_RECORD, (size_t)used);
	irq_restore(flags);
}

static void line_reset(struct shell_line *l)
{
	memset(l, 0, sizeof(*l));
	l->hist = -1;
}

/* Says why a finished line cannot run, if it cannot: it lost bytes or did not fit. */
static bool refused(const struct shell_line *l)
{
	if (l->lost)
		shell_printf("shell: input lost: the serial line dropped bytes of this line; "
			     "nothing was run\n");
	else if (l->over)
		shell_printf("shell: line too long: %lu bytes, the limit is %d; nothing was run\n",
			     (unsigned long)l->len + l->over, SHELL_LINE_MAX);
	return l->lost || l->over;
}

/*
 * Runs the finished line, whose last input byte is used: the line and its
 * bytes leave the records first, so a fault in the command loses nothing
 * and does not run it again.
 */
static void run_line(struct shell_line *l, int used)
{
	char line[SHELL_LINE_MAX + 1];
	bool run = !refused(l);

	memcpy(line, l->buf, l->len);
	line[l->len] = '\0';
	line_reset(l);
	take_input(l, used);
	if (!run)
		return;
	shell_history_add(line);
	shell_execute(line);
}

/* The first prompt since boot is the end of booting: say when it came. */
static void note_first_prompt(void)
{
	if (sdb_get(SHELL_LINE_RECORD, NULL, 0, NULL) == STATEDB_E_NOT_FOUND)
		klog(LOG_INFO, "boot: prompt after %lu us of guest time since the loader's hand-off",
		     time_ns() / 1000);
}

int shell_main(uint64_t arg)
{
	struct shell_line l;

	(void)arg;
	note_first_prompt();
	shell_printf("Delos console. Type 'help'.\n");
	shell_line_load(&l);
	shell_line_store(&l);
	shell_edit_redraw(&l);
	for (;;) {
		unsigned char in[SHELL_INPUT_BATCH];
		int n = peek_input(in, sizeof(in)), used = 0;
		enum shell_feed r = SHELL_FEED_MORE;

		while (r == SHELL_FEED_MORE && used < n)
			r = shell_edit_feed(&l, in[used++]);
		if (r == SHELL_FEED_MORE) {
			take_input(&l, used);
			continue;
		}
		if (r == SHELL_FEED_RUN) {
			run_line(&l, used);
		} else {
			line_reset(&l);
			take_input(&l, used);
		}
		shell_edit_redraw(&l);
	}
}

/* Whether a shell task is alive already (after a reload or a swap). */
static void find_shell_task(void *ctx, const struct task_info *t)
{
	if (strcmp(t->cell, "shell") == 0 && strcmp(t->sym, "shell_main") == 0 &&
	    strcmp(t->state, "exited") != 0)
		*(int64_t *)ctx = t->id;
}

static int64_t start_task(void)
{
	int64_t id = 0;

	tasks_list(find_shell_task, &id);
	if (id > 0)
		return id;
	return task_spawn("shell", "shell", "shell_main", 0);
}

int cell_init(void)
{
	int err = shell_builtins_register();

	if (!err)
		err = byteq_create(SHELL_OWNER, SHELL_INPUT_RECORD);
	if (!err && (err = dispatch_subscribe(SHELL_EVENT, "shell", "shell_on_input")) < 0)
		klog(LOG_ERR, "shell: cannot subscribe to %s: error %d", SHELL_EVENT, err);
	if (err < 0)
		return err;
	int64_t id = start_task();
	if (id < 0) {
		klog(LOG_ERR, "shell: cannot start its task: %s", tasks_strerror((int)id));
		dispatch_unsubscribe(SHELL_EVENT, "shell", "shell_on_input");
		return (int)id;
	}
	klog(LOG_INFO, "shell: the console is task %ld", id);
	/* nano_core leaves the console to the holder of the ops slot console_owner. */
	ops_register(OPS_CONSOLE_OWNER, "shell", "shell_main", OPS_TYPE_CONSOLE_OWNER);
	return 0;
}

void cell_exit(void)
{
	dispatch_unsubscribe(SHELL_EVENT, "shell", "shell_on_input");
	ops_unregister(OPS_CONSOLE_OWNER, "shell");
}
