/*
 * The ramfs's console commands (commands.c): ls, cat, write, append, rm, mv,
 * stat and tokcheck, registered with the shell cell as cellrefs to this
 * cell's ramfs_cmd_* functions, so they follow the cell across swaps.
 */
#ifndef CELLS_RAMFS_COMMANDS_H
#define CELLS_RAMFS_COMMANDS_H

/* Registers every command; returns 0 or the first shell error. */
int ramfs_commands_register(void) __attribute__((visibility("hidden")));
void ramfs_commands_unregister(void) __attribute__((visibility("hidden")));

/* The commands, as the shell calls them: void fn(int argc, char **argv). */
void ramfs_cmd_ls(int argc, char **argv);
void ramfs_cmd_cat(int argc, char **argv);
void ramfs_cmd_write(int argc, char **argv);
void ramfs_cmd_rm(int argc, char **argv);
void ramfs_cmd_mv(int argc, char **argv);
void ramfs_cmd_stat(int argc, char **argv);
void ramfs_cmd_tokcheck(int argc, char **argv);

#endif
