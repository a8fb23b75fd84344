/*
 * The token metamodule (metamodules/token.c) compiled into this cell, with
 * hidden visibility: every cell that seals tokens links its own copy, and
 * the copies must not meet in the kernel's one namespace. The headers it
 * uses from nano_core come first, so their declarations keep the default
 * visibility and still resolve against nano_core's exports.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/string.h>

#pragma GCC visibility push(hidden)
#include "metamodules/token.c"
#pragma GCC visibility pop
