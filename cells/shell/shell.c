/* The shell cell: input queue, the shell task's loop, init and exit (see shell.h). */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/dispatch/dispatch.h"
#include "cells/serial/byteq.h"
#include "cells/shell/internal.h"
#include "cells/tasks/tasks.h"

int shell_on_input(uint64_t byte)
{
	char c = (char)byte;
	uint64_t flags = irq_save();

	byteq_push(SHELL_OWNER, SHELL_INPUT_RECORD, &c, 1, SHELL_INPUT_MAX);
	irq_restore(flags);
	task_notify(SHELL_CHANNEL);
	return 0;
}

/* The next typed byte, waiting for one (the test and the wait are atomic). */
static unsigned char next_byte(void)
{
	for (;;) {
		unsigned char c;
		uint64_t flags = irq_save();
		int n = byteq_pop(SHELL_INPUT_RECORD, &c, 1);
		if (n < 0) {
			klog(LOG_ERR, "shell: input queue unreadable (%s); emptied", sdb_strerror(n));
			sdb_delete(SHELL_INPUT_RECORD);
		}
		if (n != 1)
			task_wait(SHELL_CHANNEL);
		irq_restore(flags);
		if (n == 1)
			return c;
	}
}

/* Runs the finished line: it leaves "shell/line" first, so a fault in it loses nothing. */
static void run_line(struct shell_line *l)
{
	char line[SHELL_LINE_MAX];

	memcpy(line, l->buf, l->len);
	line[l->len] = '\0';
	memset(l, 0, sizeof(*l));
	l->hist = -1;
	shell_line_store(l);
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
		enum shell_feed r = shell_edit_feed(&l, next_byte());
		if (r == SHELL_FEED_MORE) {
			shell_line_store(&l);
			continue;
		}
		if (r == SHELL_FEED_RUN) {
			run_line(&l);
		} else {
			memset(&l, 0, sizeof(l));
			l.hist = -1;
			shell_line_store(&l);
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
	return 0;
}

void cell_exit(void)
{
	dispatch_unsubscribe(SHELL_EVENT, "shell", "shell_on_input");
}
