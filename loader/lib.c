/* Message formatting and sorting for the loader; see lib.h. */
#include "loader/lib.h"

void lmsg_init(struct lmsg *m, char *buf, size_t cap)
{
	m->buf = buf;
	m->cap = cap;
	m->len = 0;
	buf[0] = '\0';
}

/* Appends one character, keeping the buffer NUL-terminated. When it fills,
 * the tail becomes "..." so a cut message is visibly cut. */
static void put(struct lmsg *m, char c)
{
	if (m->len + 1 < m->cap) {
		m->buf[m->len++] = c;
		m->buf[m->len] = '\0';
	} else if (m->cap >= 4 && m->len + 1 == m->cap) {
		memcpy(m->buf + m->cap - 4, "...", 4);
		m->len = m->cap;
	}
}

/*
 * Appends a string argument. Strings in loader messages often come from the
 * object (section, symbol and cell names), so every byte outside printable
 * ASCII is written as \xNN: a malformed object can never put control bytes
 * or raw high bytes on the console. Escaping twice changes nothing more, so a
 * message built from messages stays readable.
 */
static void put_str(struct lmsg *m, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "(null)");

	for (; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			put(m, (char)*p);
			continue;
		}
		put(m, '\\');
		put(m, 'x');
		put(m, "0123456789abcdef"[*p >> 4]);
		put(m, "0123456789abcdef"[*p & 15]);
	}
}

static void put_num(struct lmsg *m, uint64_t v, unsigned base, bool neg)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		put(m, '-');
	while (n)
		put(m, tmp[--n]);
}

/* Reads one integer argument of the given length modifier ('l' count). */
static uint64_t arg_unsigned(va_list *ap, int longs)
{
	return longs ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
}

static int64_t arg_signed(va_list *ap, int longs)
{
	return longs ? va_arg(*ap, long) : va_arg(*ap, int);
}

/* Supports %s (escaped, see put_str) %c %d %u %x with l, ll or z length
 * modifiers, and %%. */
void lmsg_vprintf(struct lmsg *m, const char *fmt, va_list ap)
{
	va_list args;

	va_copy(args, ap);
	for (; *fmt; fmt++) {
		int longs = 0;
		if (*fmt != '%') {
			put(m, *fmt);
			continue;
		}
		while (fmt[1] == 'l' || fmt[1] == 'z') {
			longs++;
			fmt++;
		}
		switch (*++fmt) {
		case 's': put_str(m, va_arg(args, const char *)); break;
		case 'c': put(m, (char)va_arg(args, int)); break;
		case 'u': put_num(m, arg_unsigned(&args, longs), 10, false); break;
		case 'x': put_num(m, arg_unsigned(&args, longs), 16, false); break;
		case 'd': {
			int64_t v = arg_signed(&args, longs);
			put_num(m, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0);
			break;
		}
		case '\0': fmt--; break;
		default: put(m, *fmt); break;
		}
	}
	va_end(args);
}

void lmsg_printf(struct lmsg *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lmsg_vprintf(m, fmt, ap);
	va_end(ap);
}

/* Swaps two elements a word at a time where the size allows (every caller's
 * does: indices and symbol records); the order a sort makes is the same. */
static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
	if (size % 8 == 0) {
		for (; size; size -= 8, a += 8, b += 8) {
			uint64_t x, y;
			__builtin_memcpy(&x, a, 8);
			__builtin_memcpy(&y, b, 8);
			__builtin_memcpy(a, &y, 8);
			__builtin_memcpy(b, &x, 8);
		}
		return;
	}
	if (size % 4 == 0) {
		for (; size; size -= 4, a += 4, b += 4) {
			uint32_t x, y;
			__builtin_memcpy(&x, a, 4);
			__builtin_memcpy(&y, b, 4);
			__builtin_memcpy(a, &y, 4);
			__builtin_memcpy(b, &x, 4);
		}
		return;
	}
	while (size--) {
		unsigned char t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

static void sift_down(unsigned char *base, size_t root, size_t n, size_t size,
		      ldr_sort_cmp cmp, const void *ctx)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n &&
		    cmp(base + child * size, base + (child + 1) * size, ctx) < 0)
			child++;
		if (cmp(base + root * size, base + child * size, ctx) >= 0)
			return;
		swap_bytes(base + root * size, base + child * size, size);
		root = child;
	}
}

/* Sorts [lo, hi) by insertion: fewer comparisons than the heap for a short run. */
static void insertion_sort(unsigned char *b, size_t n, size_t size, ldr_sort_cmp cmp, const void *ctx)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cmp(b + (j - 1) * size, b + j * size, ctx) > 0; j--)
			swap_bytes(b + (j - 1) * size, b + j * size, size);
}

void ldr_sort(void *base, size_t n, size_t size, ldr_sort_cmp cmp, const void *ctx)
{
	unsigned char *b = base;
	size_t i;

	if (n <= 16) {
		insertion_sort(b, n, size, cmp, ctx);
		return;
	}
	for (i = n / 2; i-- > 0;)
		sift_down(b, i, n, size, cmp, ctx);
	for (i = n; i-- > 1;) {
		swap_bytes(b, b + i * size, size);
		sift_down(b, 0, i, size, cmp, ctx);
	}
}

