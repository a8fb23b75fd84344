/* SipHash-2-4 (metamodules/siphash.c) for token_code.c, hidden like it. */
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)
#include "metamodules/siphash.c"
#pragma GCC visibility pop
