# tokens@1 links its own copy of the token metamodule (cells/cells.mk).
CELL_LIB_tokens@1 := $(CELL_LIB_TOKENS)
