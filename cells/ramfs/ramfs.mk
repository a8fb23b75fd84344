# ramfs: the logic of cells ramfs@1 and ramfs@2, tested on the host against
# the real state_db store (tests/host/test_ramfs.c). The cells themselves are
# built by cells/cells.mk from cells/ramfs and cells/ramfs_v2.

RAMFS_LOGIC_SRCS := cells/ramfs/names.c cells/ramfs/inode.c cells/ramfs/data.c \
                    cells/ramfs/ticket.c cells/ramfs/file.c cells/ramfs/dir.c \
                    cells/ramfs/migrate.c cells/ramfs/errors.c

HOST_TESTS      += ramfs
test_ramfs_SRCS  = $(RAMFS_LOGIC_SRCS) $(STATEDB_SRCS) $(TOKEN_SRCS)
