# The swap commands, shared with kcmds@1 (metamodules/swap_cmd.c).
CELL_LIB_shell@1 := metamodules/swap_cmd.c
