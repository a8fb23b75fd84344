/*
 * Small freestanding helpers for the loader: the C library functions it uses
 * (nano_core exports them in the kernel; libc has them on the host), message
 * formatting and sorting.
 */
#ifndef LOADER_LIB_H
#define LOADER_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef DELOS_HOST
#include <string.h>
#else
#include <delos/string.h>
#endif

/*
 * A bounded text buffer; output past the end is dropped and marked "...".
 * Every loader message is built with it. Its printf writes the bytes of %s
 * arguments outside printable ASCII as \xNN, so names taken from an object
 * reach the console escaped.
 */
struct lmsg {
	char *buf;
	size_t cap, len;
};

void lmsg_init(struct lmsg *m, char *buf, size_t cap);
void lmsg_vprintf(struct lmsg *m, const char *fmt, va_list ap);
void lmsg_printf(struct lmsg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sorts n elements of `size` bytes in place (heapsort: no recursion, no heap). */
typedef int (*ldr_sort_cmp)(const void *a, const void *b, const void *ctx);
void ldr_sort(void *base, size_t n, size_t size, ldr_sort_cmp cmp, const void *ctx);

static inline bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Rounds x up to a power-of-two alignment a (a=0 means 1); x must not be near
 * UINT64_MAX, which callers guarantee by bounding sizes first. */
static inline uint64_t align_up(uint64_t x, uint64_t a)
{
	return a > 1 ? (x + a - 1) & ~(a - 1) : x;
}

#endif
