/* The ramfs's console commands (commands.h); they use only the ramfs.h API. */
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/string.h>
#include "cells/ramfs/commands.h"
#include "cells/ramfs/fs.h"
#include <delos/shell.h>

struct command {
	const char *name, *sym, *usage, *help;
};

static const struct command commands[] = {
	{ "ls", "ramfs_cmd_ls", "", "list the ramfs files with their sizes" },
	{ "cat", "ramfs_cmd_cat", "FILE", "print a ramfs file" },
	{ "write", "ramfs_cmd_write", "FILE TEXT...", "make a ramfs file hold TEXT and a newline" },
	{ "append", "ramfs_cmd_write", "FILE TEXT...", "add TEXT and a newline to a ramfs file" },
	{ "rm", "ramfs_cmd_rm", "FILE", "remove a ramfs file" },
	{ "mv", "ramfs_cmd_mv", "FROM TO", "rename a ramfs file" },
	{ "stat", "ramfs_cmd_stat", "FILE", "size, id, layout and time of a ramfs file" },
	{ "tokcheck", "ramfs_cmd_tokcheck", "", "check that forged ramfs tokens are refused" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int ramfs_commands_register(void)
{
	int first = 0;

	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];
		int err = shell_register(c->name, "ramfs", c->sym, c->usage, c->help);
		if (err) {
			klog(LOG_ERR, "ramfs: cannot register '%s': %s", c->name, shell_strerror(err));
			first = first ? first : err;
		}
	}
	return first;
}

void ramfs_commands_unregister(void)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		shell_unregister(commands[i].name);
}

static void say_error(const char *cmd, const char *name, int err)
{
	shell_printf("%s: %s: %s\n", cmd, name, ramfs_strerror(err));
}

#define LS_MAX 64

struct ls_row {
	char name[RAMFS_NAME_MAX + 1];
	uint64_t size;
	int err;
};

struct ls_rows {
	struct ls_row *row;
	int n, more;
};

/* Runs with interrupts off: copies the row and nothing else. */
static bool ls_one(void *ctx, const char *name, const struct ramfs_stat *st, int err)
{
	struct ls_rows *rows = ctx;
	struct ls_row *r;

	if (rows->n == LS_MAX) {
		rows->more++;
		return true;
	}
	r = &rows->row[rows->n++];
	memcpy(r->name, name, strlen(name) + 1);
	r->size = st ? st->size : 0;
	r->err = err;
	return true;
}

static void ls_sort(struct ls_row *row, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(row[j - 1].name, row[j].name) > 0; j--) {
			struct ls_row tmp = row[j];
			row[j] = row[j - 1];
			row[j - 1] = tmp;
		}
}

void ramfs_cmd_ls(int argc, char **argv)
{
	struct ls_rows rows = { kmalloc(LS_MAX * sizeof(struct ls_row)), 0, 0 };

	(void)argc, (void)argv;
	if (!rows.row) {
		shell_printf("ls: out of memory\n");
		return;
	}
	ramfs_list(ls_one, &rows);
	ls_sort(rows.row, rows.n);
	for (int i = 0; i < rows.n; i++) {
		if (rows.row[i].err)
			shell_printf("%-39s  (%s)\n", rows.row[i].name, ramfs_strerror(rows.row[i].err));
		else
			shell_printf("%-39s %9lu\n", rows.row[i].name, rows.row[i].size);
	}
	if (rows.more)
		shell_printf("... and %d more\n", rows.more);
	shell_printf("%d file%s\n", rows.n + rows.more, rows.n + rows.more == 1 ? "" : "s");
	kfree(rows.row);
}

/* Bytes the console cannot show become '.'. */
static void printable(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((buf[i] < ' ' || buf[i] > '~') && buf[i] != '\n' && buf[i] != '\t')
			buf[i] = '.';
}

void ramfs_cmd_cat(int argc, char **argv)
{
	struct token t;
	char buf[257];
	bool newline = true;
	int64_t n;
	int err = ramfs_open(argv[1], RAMFS_O_READ, &t);

	(void)argc;
	if (err) {
		say_error("cat", argv[1], err);
		return;
	}
	while ((n = ramfs_read(&t, buf, sizeof(buf) - 1)) > 0) {
		printable(buf, (size_t)n);
		buf[n] = '\0';
		shell_printf("%s", buf);
		newline = buf[n - 1] == '\n';
	}
	if (n < 0)
		say_error("cat", argv[1], (int)n);
	if (!newline)
		shell_printf("\n");
	ramfs_close(&t);
}

/*
 * Joins argv[2..] with spaces and ends with a newline, in a buffer from the
 * heap that the caller frees; NULL if out of memory. *len is its length.
 */
static char *join_text(int argc, char **argv, size_t *len)
{
	size_t total = 0;
	char *out;

	for (int i = 2; i < argc; i++)
		total += strlen(argv[i]) + 1;
	if (!(out = kmalloc(total)))
		return NULL;
	*len = 0;
	for (int i = 2; i < argc; i++) {
		size_t n = strlen(argv[i]);
		memcpy(out + *len, argv[i], n);
		*len += n;
		out[(*len)++] = i + 1 < argc ? ' ' : '\n';
	}
	return out;
}

/* write FILE TEXT... and append FILE TEXT... (told apart by argv[0]). */
void ramfs_cmd_write(int argc, char **argv)
{
	bool append = strcmp(argv[0], "append") == 0;
	unsigned flags = RAMFS_O_WRITE | RAMFS_O_CREATE | (append ? RAMFS_O_APPEND : RAMFS_O_TRUNC);
	size_t len;
	char *text = join_text(argc, argv, &len);
	struct ramfs_stat st;
	struct token t;
	int64_t w;
	int err;

	if (!text) {
		shell_printf("%s: out of memory; nothing was written\n", argv[0]);
		return;
	}
	if ((err = ramfs_open(argv[1], flags, &t))) {
		say_error(argv[0], argv[1], err);
		kfree(text);
		return;
	}
	w = ramfs_write(&t, text, len);
	if (w < 0)
		say_error(argv[0], argv[1], (int)w);
	else if (ramfs_fstat(&t, &st) == 0)
		shell_printf("%s: %s: %ld bytes written, size %lu\n", argv[0], argv[1], w, st.size);
	ramfs_close(&t);
	kfree(text);
}

void ramfs_cmd_rm(int argc, char **argv)
{
	int err = ramfs_remove(argv[1]);

	(void)argc;
	if (err)
		say_error("rm", argv[1], err);
	else
		shell_printf("rm: removed %s\n", argv[1]);
}

void ramfs_cmd_mv(int argc, char **argv)
{
	int err = ramfs_rename(argv[1], argv[2]);

	(void)argc;
	if (err == RAMFS_E_EXISTS)
		say_error("mv", argv[2], err);
	else if (err)
		say_error("mv", argv[1], err);
	else
		shell_printf("mv: %s -> %s\n", argv[1], argv[2]);
}

void ramfs_cmd_stat(int argc, char **argv)
{
	struct ramfs_stat st;
	int err = ramfs_stat(argv[1], &st);

	(void)argc;
	if (err) {
		say_error("stat", argv[1], err);
		return;
	}
	shell_printf("%s: %lu bytes, id %u, generation %lu, mode 0%u%u%u, layout %u, ", st.name,
		     st.size, st.id, st.gen, st.mode >> 6 & 7, st.mode >> 3 & 7, st.mode & 7, st.layout);
	if (st.mtime_ns)
		shell_printf("modified %lu.%06lu s after boot\n", st.mtime_ns / 1000000000,
			     st.mtime_ns / 1000 % 1000000);
	else
		shell_printf("modification time not recorded\n");
}
