/*
 * What the shell's files share. These are globals of the shell cell (and so
 * in the one namespace), prefixed shell_; nothing outside the cell calls them.
 */
#ifndef CELLS_SHELL_INTERNAL_H
#define CELLS_SHELL_INTERNAL_H

#include <stdbool.h>

#include <delos/shell.h>

#define SHELL_OWNER "shell"

/* editor.c: what feeding a byte to the line editor asks for. */
enum shell_feed {
	SHELL_FEED_MORE,    /* keep reading */
	SHELL_FEED_RUN,     /* the line is complete: run it */
	SHELL_FEED_CANCEL,  /* the line was abandoned (Ctrl-C) */
};

/* Applies one input byte to *l, echoing what changes on the screen. */
enum shell_feed shell_edit_feed(struct shell_line *l, unsigned char c);
/* Prints the prompt and the line as it stands, cursor in place. */
void shell_edit_redraw(const struct shell_line *l);
/* The line record, or an empty line if it is missing or damaged. */
void shell_line_load(struct shell_line *l);
void shell_line_store(const struct shell_line *l);

/* history.c */
void shell_history_add(const char *line);
/* Copies the entry `back` lines before the newest (0 = newest); false if none. */
bool shell_history_get(int back, char *out, int cap);

/* registry.c: copies the command record; 0 or SHELL_E_NOT_FOUND / SHELL_E_NAME. */
int shell_cmd_find(const char *name, struct shell_cmd *out);
bool shell_name_valid(const char *name);

/* run.c: runs one command line (modified in place). */
void shell_execute(char *line);
/* True when nargs arguments fit usage (see shell.h). */
bool shell_usage_fits(const char *usage, int nargs);

/* builtins.c: registers help, state, tasks and nano_core's commands. */
int shell_builtins_register(void);
void shell_cmd_help(int argc, char **argv);
void shell_cmd_state(int argc, char **argv);
void shell_cmd_tasks(int argc, char **argv);
void shell_cmd_uptime(int argc, char **argv);
void shell_cmd_fault(int argc, char **argv);

#endif
