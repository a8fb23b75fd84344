# load, unload, swap and swaps are shared with the shell (metamodules/live_cmds.c).
CELL_LIB_kcmds@1 := metamodules/live_cmds.c
