/*
 * The cells.manifest parser, for celltool and the host tests (-DDELOS_HOST).
 * The format and the contract are in include/delos/manifest.h. nano_core
 * reads the binary table celltool compiles from it (loader/manifest_table.c,
 * which also holds the lookups both sides share).
 *
 * The parser works on spans of the caller's buffer and copies a field into the
 * entry only after checking it, so no field is ever written half-checked.
 */
#include <delos/manifest.h>

#include <stdarg.h>

/* A slice of the input buffer; never NUL-terminated. */
struct span {
	const char *s;
	size_t n;
};

struct parser {
	struct manifest *m;
	const char *source;         /* names the buffer in messages */
	struct manifest_error *err; /* may be NULL */
	uint32_t line;
};

/* How many characters of a quoted token a message shows before "...". */
#define QUOTE_MAX 40

/* Characters and spans. */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || is_digit(c);
}

static size_t cstr_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static bool cstr_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static bool span_is(struct span a, const char *lit)
{
	size_t i;

	for (i = 0; i < a.n; i++)
		if (lit[i] != a.s[i] || lit[i] == '\0')
			return false;
	return lit[a.n] == '\0';
}

static bool span_is_ident(struct span a)
{
	size_t i;

	if (a.n == 0 || !is_ident_start(a.s[0]))
		return false;
	for (i = 1; i < a.n; i++)
		if (!is_ident_char(a.s[i]))
			return false;
	return true;
}

/* Copies a into dst, which has room for a.n + 1 bytes. */
static void span_copy(char *dst, struct span a)
{
	size_t i;

	for (i = 0; i < a.n; i++)
		dst[i] = a.s[i];
	dst[a.n] = '\0';
}

/*
 * Splits a at its first sep into *head and *tail (sep in neither). Returns
 * false, with *head = a and *tail empty, if a holds no sep.
 */
static bool span_split(struct span a, char sep, struct span *head,
		       struct span *tail)
{
	size_t i;

	for (i = 0; i < a.n; i++) {
		if (a.s[i] == sep) {
			*head = (struct span){ a.s, i };
			*tail = (struct span){ a.s + i + 1, a.n - i - 1 };
			return true;
		}
	}
	*head = a;
	*tail = (struct span){ a.s + a.n, 0 };
	return false;
}

/*
 * Parses a decimal number without sign or leading zeros that fits in 32 bits.
 * Returns false, writing nothing, otherwise.
 */
static bool parse_u32(struct span a, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (a.n == 0 || a.n > 10 || (a.n > 1 && a.s[0] == '0'))
		return false;
	for (i = 0; i < a.n; i++) {
		if (!is_digit(a.s[i]))
			return false;
		v = v * 10 + (uint64_t)(a.s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Messages. */

struct msgbuf {
	char *p;
	size_t cap; /* including the NUL */
	size_t n;
};

static void msg_putc(struct msgbuf *b, char c)
{
	if (b->n + 1 < b->cap)
		b->p[b->n++] = c;
}

static void msg_puts(struct msgbuf *b, const char *s)
{
	while (*s)
		msg_putc(b, *s++);
}

static void msg_putu(struct msgbuf *b, uint32_t v)
{
	char digits[10];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		msg_putc(b, digits[--n]);
}

static void msg_puthex(struct msgbuf *b, unsigned v)
{
	static const char hex[] = "0123456789abcdef";

	msg_puts(b, "0x");
	msg_putc(b, hex[(v >> 4) & 0xf]);
	msg_putc(b, hex[v & 0xf]);
}

/* Quoted tokens hold printable ASCII only; long ones are cut with "...". */
static void msg_putspan(struct msgbuf *b, struct span a)
{
	size_t i;

	for (i = 0; i < a.n && i < QUOTE_MAX; i++)
		msg_putc(b, a.s[i]);
	if (a.n > QUOTE_MAX)
		msg_puts(b, "...");
}

/*
 * A small printf: %s (const char *), %u (unsigned), %x (a byte, as 0xNN),
 * %S (struct span) and %%.
 */
static void msg_vformat(struct msgbuf *b, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			msg_putc(b, *fmt);
			continue;
		}
		switch (*++fmt) {
		case 's': msg_puts(b, va_arg(ap, const char *)); break;
		case 'u': msg_putu(b, va_arg(ap, unsigned)); break;
		case 'x': msg_puthex(b, va_arg(ap, unsigned)); break;
		case 'S': msg_putspan(b, va_arg(ap, struct span)); break;
		case '%': msg_putc(b, '%'); break;
		default: return; /* a bug in a format string here; stop */
		}
	}
}

static void msg_format(struct msgbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vformat(b, fmt, ap);
	va_end(ap);
	b->p[b->n] = '\0';
}

/* Records "SOURCE:LINE: cause" in p->err, if any, and returns code. */
static int fail(struct parser *p, int code, const char *fmt, ...)
{
	struct msgbuf b;
	va_list ap;

	if (!p->err)
		return code;
	b = (struct msgbuf){ p->err->message, sizeof p->err->message, 0 };
	p->err->line = p->line;
	msg_puts(&b, p->source);
	msg_putc(&b, ':');
	msg_putu(&b, p->line);
	msg_puts(&b, ": ");
	va_start(ap, fmt);
	msg_vformat(&b, fmt, ap);
	va_end(ap);
	b.p[b.n] = '\0';
	return code;
}

/* Tokens. */

/*
 * Takes the next whitespace-separated token of *rest into *tok. Returns 1, 0
 * at the end of the line or at a comment, or an error for a token holding a
 * byte that is not printable ASCII.
 */
static int take_token(struct parser *p, struct span *rest, struct span *tok)
{
	size_t i = 0, start;

	while (i < rest->n && is_space(rest->s[i]))
		i++;
	if (i == rest->n || rest->s[i] == '#')
		return 0;
	start = i;
	while (i < rest->n && !is_space(rest->s[i])) {
		unsigned char c = (unsigned char)rest->s[i];

		if (c < 0x21 || c > 0x7e)
			return fail(p, MANIFEST_ESYNTAX, "invalid byte %x", c);
		i++;
	}
	*tok = (struct span){ rest->s + start, i - start };
	*rest = (struct span){ rest->s + i, rest->n - i };
	return 1;
}

/*
 * Parses "NAME@VERSION" from ref, naming what is wrong with it. With p->err
 * NULL it only checks.
 */
static int parse_ref(struct parser *p, struct span ref, char *name,
		     uint32_t *version)
{
	struct span n, v;
	uint32_t num;

	if (!span_split(ref, '@', &n, &v))
		return fail(p, MANIFEST_ESYNTAX,
			    "expected NAME@VERSION, got '%S'", ref);
	if (!span_is_ident(n))
		return fail(p, MANIFEST_ESYNTAX, "invalid cell name '%S'", n);
	if (n.n > MANIFEST_NAME_MAX)
		return fail(p, MANIFEST_ESYNTAX,
			    "cell name '%S' is longer than %u characters", n,
			    MANIFEST_NAME_MAX);
	if (!parse_u32(v, &num) || num == 0)
		return fail(p, MANIFEST_ESYNTAX,
			    "invalid version '%S' in '%S' (expected a positive integer)",
			    v, ref);
	span_copy(name, n);
	*version = num;
	return MANIFEST_OK;
}

/* Fields. */

static int parse_object(struct parser *p, struct manifest_entry *e,
			struct span value)
{
	if (value.n == 0)
		return fail(p, MANIFEST_ESYNTAX, "empty object path");
	if (value.n > MANIFEST_PATH_MAX)
		return fail(p, MANIFEST_ESYNTAX,
			    "object path '%S' is longer than %u characters",
			    value, MANIFEST_PATH_MAX);
	span_copy(e->object, value);
	return MANIFEST_OK;
}

static int add_grant(struct parser *p, struct manifest_entry *e,
		     struct span g, struct span list)
{
	char name[MANIFEST_NAME_MAX + 1];

	if (g.n == 0)
		return fail(p, MANIFEST_ESYNTAX, "empty grant name in '%S'",
			    list);
	if (span_is(g, "none"))
		return fail(p, MANIFEST_ESYNTAX,
			    "'none' cannot be combined with other grants");
	if (!span_is_ident(g) || g.n > MANIFEST_NAME_MAX)
		return fail(p, MANIFEST_ESYNTAX, "invalid grant name '%S'", g);
	span_copy(name, g);
	if (manifest_has_grant(e, name))
		return fail(p, MANIFEST_ESYNTAX, "grant '%S' listed twice", g);
	if (e->grant_count == MANIFEST_GRANTS_MAX)
		return fail(p, MANIFEST_ESYNTAX, "more than %u grants",
			    MANIFEST_GRANTS_MAX);
	span_copy(e->grants[e->grant_count++], g);
	return MANIFEST_OK;
}

static int parse_grants(struct parser *p, struct manifest_entry *e,
			struct span value)
{
	struct span rest = value, g;
	bool more = value.n > 0 && !span_is(value, "none");
	int rc;

	while (more) {
		more = span_split(rest, ',', &g, &rest);
		rc = add_grant(p, e, g, value);
		if (rc)
			return rc;
	}
	return MANIFEST_OK;
}

static int parse_boot(struct parser *p, struct manifest_entry *e,
		      struct span value)
{
	if (span_is(value, "yes"))
		e->boot = true;
	else if (span_is(value, "no"))
		e->boot = false;
	else
		return fail(p, MANIFEST_ESYNTAX,
			    "boot must be 'yes' or 'no', got '%S'", value);
	return MANIFEST_OK;
}

static int parse_policy(struct parser *p, const struct manifest_entry *e,
			struct span policy, struct manifest_recovery *r)
{
	struct span kind, target;
	int rc;

	if (span_is(policy, "none"))
		r->policy = MANIFEST_RECOVERY_NONE;
	else if (span_is(policy, "restart"))
		r->policy = MANIFEST_RECOVERY_RESTART;
	else if (span_is(policy, "reload"))
		r->policy = MANIFEST_RECOVERY_RELOAD;
	else if (span_split(policy, ':', &kind, &target) &&
		 span_is(kind, "fallback"))
		r->policy = MANIFEST_RECOVERY_FALLBACK;
	else if (span_is(policy, "fallback"))
		return fail(p, MANIFEST_ESYNTAX,
			    "fallback needs a target: fallback:NAME@VERSION");
	else
		return fail(p, MANIFEST_ESYNTAX,
			    "unknown recovery policy '%S'", policy);
	if (r->policy != MANIFEST_RECOVERY_FALLBACK)
		return MANIFEST_OK;
	rc = parse_ref(p, target, r->fallback_name, &r->fallback_version);
	if (rc)
		return rc;
	if (cstr_eq(r->fallback_name, e->name) &&
	    r->fallback_version == e->version)
		return fail(p, MANIFEST_ESYNTAX,
			    "cell %s@%u cannot fall back to itself", e->name,
			    e->version);
	return MANIFEST_OK;
}

/* Parses one "tries=N" or "backoff=MS"; *seen tracks repeats. */
static int parse_recovery_option(struct parser *p, struct span opt,
				 struct manifest_recovery *r, unsigned *seen)
{
	struct span key, value;
	unsigned bit;

	span_split(opt, '=', &key, &value);
	if (span_is(key, "tries"))
		bit = 1;
	else if (span_is(key, "backoff"))
		bit = 2;
	else
		return fail(p, MANIFEST_ESYNTAX,
			    "unknown recovery option '%S'", opt);
	if (*seen & bit)
		return fail(p, MANIFEST_ESYNTAX,
			    "recovery option '%S' given twice", key);
	*seen |= bit;
	if (bit == 1 && (!parse_u32(value, &r->tries) || r->tries == 0))
		return fail(p, MANIFEST_ESYNTAX,
			    "tries must be a positive integer, got '%S'", value);
	if (bit == 2 && !parse_u32(value, &r->backoff_ms))
		return fail(p, MANIFEST_ESYNTAX,
			    "backoff must be a number of milliseconds, got '%S'",
			    value);
	return MANIFEST_OK;
}

static int parse_recovery(struct parser *p, struct manifest_entry *e,
			  struct span value)
{
	struct manifest_recovery r = { 0 };
	struct span policy, rest, opt;
	bool more = span_split(value, ',', &policy, &rest);
	unsigned seen = 0;
	int rc;

	rc = parse_policy(p, e, policy, &r);
	if (rc)
		return rc;
	if (more && r.policy == MANIFEST_RECOVERY_NONE)
		return fail(p, MANIFEST_ESYNTAX,
			    "recovery 'none' takes no options");
	while (more) {
		more = span_split(rest, ',', &opt, &rest);
		if (opt.n == 0)
			return fail(p, MANIFEST_ESYNTAX,
				    "empty recovery option in '%S'", value);
		rc = parse_recovery_option(p, opt, &r, &seen);
		if (rc)
			return rc;
	}
	e->recovery = r;
	return MANIFEST_OK;
}

static int add_extra(struct parser *p, struct manifest_entry *e,
		     struct span key, struct span value)
{
	struct manifest_extra *x;

	if (e->extra_count == MANIFEST_EXTRAS_MAX)
		return fail(p, MANIFEST_ESYNTAX, "more than %u extra fields",
			    MANIFEST_EXTRAS_MAX);
	if (value.n > MANIFEST_VALUE_MAX)
		return fail(p, MANIFEST_ESYNTAX,
			    "value of '%S' is longer than %u characters", key,
			    MANIFEST_VALUE_MAX);
	x = &e->extras[e->extra_count++];
	span_copy(x->key, key);
	span_copy(x->value, value);
	return MANIFEST_OK;
}

/* guard=GRANT:SYM[,SYM...]: exports only cells granted GRANT may import. */
static int parse_guard(struct parser *p, struct manifest_entry *e,
		       struct span value)
{
	struct span grant, rest, sym;
	bool more;

	if (!span_split(value, ':', &grant, &rest) || rest.n == 0)
		return fail(p, MANIFEST_ESYNTAX,
			    "guard needs a grant and symbols: guard=GRANT:SYM[,SYM...], got '%S'",
			    value);
	if (!span_is_ident(grant) || grant.n > MANIFEST_NAME_MAX ||
	    span_is(grant, "none"))
		return fail(p, MANIFEST_ESYNTAX, "invalid guard grant '%S'", grant);
	span_copy(e->guard_grant, grant);
	do {
		more = span_split(rest, ',', &sym, &rest);
		if (!span_is_ident(sym) || sym.n > MANIFEST_SYMBOL_MAX)
			return fail(p, MANIFEST_ESYNTAX,
				    "invalid guarded symbol '%S' in '%S'", sym, value);
		if (e->guarded_count == MANIFEST_GUARDS_MAX)
			return fail(p, MANIFEST_ESYNTAX, "more than %u guarded symbols",
				    MANIFEST_GUARDS_MAX);
		span_copy(e->guarded[e->guarded_count], sym);
		if (manifest_guard(e, e->guarded[e->guarded_count]))
			return fail(p, MANIFEST_ESYNTAX,
				    "symbol '%S' guarded twice", sym);
		e->guarded_count++;
	} while (more);
	return MANIFEST_OK;
}

typedef int field_parser(struct parser *p, struct manifest_entry *e,
			 struct span value);

static const struct {
	const char *key;
	field_parser *parse;
} known_fields[] = {
	{ "object", parse_object },
	{ "grants", parse_grants },
	{ "boot", parse_boot },
	{ "recovery", parse_recovery },
	{ "guard", parse_guard },
};

#define KNOWN_FIELDS (sizeof known_fields / sizeof known_fields[0])

/* Parses one key=value token; *seen tracks which known keys were given. */
static int parse_field(struct parser *p, struct manifest_entry *e,
		       struct span tok, unsigned *seen)
{
	struct span key, value;
	char name[MANIFEST_NAME_MAX + 1];
	size_t i;

	if (!span_split(tok, '=', &key, &value))
		return fail(p, MANIFEST_ESYNTAX, "expected key=value, got '%S'",
			    tok);
	if (!span_is_ident(key) || key.n > MANIFEST_NAME_MAX)
		return fail(p, MANIFEST_ESYNTAX, "invalid key '%S' in '%S'",
			    key, tok);
	for (i = 0; i < KNOWN_FIELDS; i++) {
		if (!span_is(key, known_fields[i].key))
			continue;
		if (*seen & (1u << i))
			return fail(p, MANIFEST_ESYNTAX, "key '%S' given twice",
				    key);
		*seen |= 1u << i;
		return known_fields[i].parse(p, e, value);
	}
	span_copy(name, key);
	if (manifest_extra(e, name))
		return fail(p, MANIFEST_ESYNTAX, "key '%S' given twice", key);
	return add_extra(p, e, key, value);
}

/* Lines. */

/* Claims the next free entry for the cell named by ref. */
static int start_entry(struct parser *p, struct span ref,
		       struct manifest_entry **out)
{
	struct manifest *m = p->m;
	const struct manifest_entry *dup;
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t version;
	struct manifest_entry *e;
	int rc;

	rc = parse_ref(p, ref, name, &version);
	if (rc)
		return rc;
	dup = manifest_find(m, name, version);
	if (dup)
		return fail(p, MANIFEST_EDUPLICATE,
			    "duplicate cell %s@%u (first on line %u)", name,
			    version, dup->line);
	if (m->count == m->capacity)
		return fail(p, MANIFEST_EFULL,
			    "too many cells (the table holds %u)",
			    (unsigned)m->capacity);
	e = &m->entries[m->count];
	*e = (struct manifest_entry){ .version = version, .line = p->line };
	span_copy(e->name, (struct span){ name, cstr_len(name) });
	*out = e;
	return MANIFEST_OK;
}

static void set_default_object(struct manifest_entry *e)
{
	struct msgbuf b = { e->object, sizeof e->object, 0 };

	msg_format(&b, "cells/%s@%u.o", e->name, e->version);
}

/* Parses one line (without its '\n'); blank and comment lines add nothing. */
static int parse_line(struct parser *p, struct span line)
{
	struct manifest_entry *e;
	struct span tok;
	unsigned seen = 0;
	int rc;

	rc = take_token(p, &line, &tok);
	if (rc <= 0)
		return rc;
	if (!span_is(tok, "cell"))
		return fail(p, MANIFEST_ESYNTAX,
			    "expected 'cell NAME@VERSION', got '%S'", tok);
	rc = take_token(p, &line, &tok);
	if (rc == 0)
		return fail(p, MANIFEST_ESYNTAX,
			    "missing NAME@VERSION after 'cell'");
	if (rc < 0)
		return rc;
	rc = start_entry(p, tok, &e);
	if (rc)
		return rc;
	while ((rc = take_token(p, &line, &tok)) > 0) {
		rc = parse_field(p, e, tok, &seen);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (e->object[0] == '\0')
		set_default_object(e);
	p->m->count++;
	return MANIFEST_OK;
}

/* Every fallback must name a version that the manifest has. */
static int check_fallbacks(struct parser *p)
{
	const struct manifest_entry *e;
	size_t i;

	for (i = 0; i < p->m->count; i++) {
		e = &p->m->entries[i];
		if (e->recovery.policy != MANIFEST_RECOVERY_FALLBACK ||
		    manifest_find(p->m, e->recovery.fallback_name,
				  e->recovery.fallback_version))
			continue;
		p->line = e->line;
		return fail(p, MANIFEST_EFALLBACK,
			    "fallback %s@%u is not in the manifest",
			    e->recovery.fallback_name,
			    e->recovery.fallback_version);
	}
	return MANIFEST_OK;
}

/* The public API. */

size_t manifest_count_lines(const char *buf, size_t len)
{
	size_t count = 0, i = 0;

	while (i < len) {
		while (i < len && is_space(buf[i]))
			i++;
		if (i < len && buf[i] != '#' && buf[i] != '\n')
			count++;
		while (i < len && buf[i] != '\n')
			i++;
		i++;
	}
	return count;
}

int manifest_parse(struct manifest *m, const char *source, const char *buf,
		   size_t len, struct manifest_error *err)
{
	struct parser p = { m, source ? source : "manifest", err, 0 };
	size_t pos = 0, end;
	int rc = MANIFEST_OK;

	m->count = 0;
	if (err)
		*err = (struct manifest_error){ 0 };
	while (rc == MANIFEST_OK && pos < len) {
		for (end = pos; end < len && buf[end] != '\n'; end++)
			;
		p.line++;
		rc = parse_line(&p, (struct span){ buf + pos, end - pos });
		pos = end + 1;
	}
	if (rc == MANIFEST_OK)
		rc = check_fallbacks(&p);
	if (rc != MANIFEST_OK)
		m->count = 0;
	return rc;
}
