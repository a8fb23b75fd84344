# load, unload, swap and swaps, shared with kcmds@1 (metamodules/live_cmds.c).
CELL_LIB_shell@1 := metamodules/live_cmds.c
