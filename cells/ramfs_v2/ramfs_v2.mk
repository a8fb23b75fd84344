# ramfs@2 is ramfs@1's code (cells/ramfs) compiled for record layout 2, plus
# this folder's swap-in hook (swap.c), which migrates layout 1 inodes.
CELL_SRCS_ramfs@2   := $(wildcard cells/ramfs/*.c)
CELL_CFLAGS_ramfs@2 := -DRAMFS_CELL_LAYOUT=2u
CELL_LIB_ramfs@2    := $(CELL_LIB_TOKENS)
