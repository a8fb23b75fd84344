# load, unload, swap and swaps are shared with the shell (metamodules/live_cmds.c).
# `mem`'s ownership audit (metamodules/mm_audit.c, frame_audit.c) is shared with nano_core's test build.
CELL_LIB_kcmds@1 := metamodules/live_cmds.c metamodules/mm_audit.c metamodules/frame_audit.c
