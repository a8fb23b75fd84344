/* A small vsnprintf: enough of printf for logs, reports and the console. */
#include <delos/log.h>
#include <stdbool.h>
#include <stdint.h>

struct out {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	int width;
	bool zero;
	bool left;
	int longs;
	char conv;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, const struct spec *sp)
{
	size_t pad = sp->width > 0 && (size_t)sp->width > n ? sp->width - n : 0;
	char fill = sp->zero && !sp->left ? '0' : ' ';

	if (fill == '0' && n && (*s == '-')) {
		put(o, *s++);
		n--;
	}
	for (size_t i = 0; !sp->left && i < pad; i++)
		put(o, fill);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	for (size_t i = 0; sp->left && i < pad; i++)
		put(o, ' ');
}

static void put_number(struct out *o, uint64_t v, bool negative, unsigned base,
		       const struct spec *sp)
{
	const char *digits = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = digits[v % base];
		v /= base;
	} while (v);
	if (negative)
		tmp[--i] = '-';
	put_padded(o, tmp + i, sizeof(tmp) - i, sp);
}

static const char *parse_spec(const char *f, struct spec *sp)
{
	*sp = (struct spec){ 0 };
	for (;; f++) {
		if (*f == '0')
			sp->zero = true;
		else if (*f == '-')
			sp->left = true;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	while (*f == 'l' || *f == 'z') {
		sp->longs++;
		f++;
	}
	sp->conv = *f;
	return f;
}

static uint64_t take_unsigned(va_list *ap, const struct spec *sp)
{
	if (sp->longs)
		return va_arg(*ap, uint64_t);
	return va_arg(*ap, unsigned int);
}

static int64_t take_signed(va_list *ap, const struct spec *sp)
{
	if (sp->longs)
		return va_arg(*ap, int64_t);
	return va_arg(*ap, int);
}

static void convert(struct out *o, const struct spec *sp, va_list *ap)
{
	switch (sp->conv) {
	case 'd':
	case 'i': {
		int64_t v = take_signed(ap, sp);
		put_number(o, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, sp);
		break;
	}
	case 'u':
		put_number(o, take_unsigned(ap, sp), false, 10, sp);
		break;
	case 'x':
	case 'X':
		put_number(o, take_unsigned(ap, sp), false, 16, sp);
		break;
	case 'p': {
		struct spec p = { .width = 16, .zero = true, .conv = 'x' };
		put(o, '0');
		put(o, 'x');
		put_number(o, (uint64_t)va_arg(*ap, void *), false, 16, &p);
		break;
	}
	case 's': {
		const char *s = va_arg(*ap, const char *);
		size_t n = 0;
		if (!s)
			s = "(null)";
		while (s[n])
			n++;
		put_padded(o, s, n, sp);
		break;
	}
	case 'c': {
		char c = (char)va_arg(*ap, int);
		put_padded(o, &c, 1, sp);
		break;
	}
	case '%':
		put(o, '%');
		break;
	default:
		put(o, '%');
		if (sp->conv)
			put(o, sp->conv);
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	struct spec sp;
	va_list args;

	va_copy(args, ap);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp);
		if (!*f)
			break;
		convert(&o, &sp, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
