# The swap commands are shared with the shell (metamodules/swap_cmd.c).
CELL_LIB_kcmds@1 := metamodules/swap_cmd.c
