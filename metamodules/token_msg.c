/*
 * Messages for token errors (contract in include/delos/token.h). The texts are
 * returned from a switch, not a table of pointers, so they stay in read-only
 * data whatever the compiler's code model.
 */
#include <delos/token.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

/* How many characters of a server name a message shows before "...". */
#define NAME_MAX_SHOWN 40

const char *token_strerror(int err)
{
	switch (err) {
	case TOKEN_OK:
		return "ok";
	case TOKEN_E_INVAL:
		return "invalid argument (NULL pointer, empty server name or short seed)";
	case TOKEN_E_NO_KEY:
		return "token key not set (derive it with token_key_derive at boot)";
	case TOKEN_E_TOO_BIG:
		return "payload too big for a token (at most " STR(TOKEN_PAYLOAD_MAX) " bytes)";
	case TOKEN_E_TRUNCATED:
		return "token truncated (fewer than " STR(TOKEN_SIZE) " bytes received)";
	case TOKEN_E_BAD_MAGIC:
		return "not a token (bad magic)";
	case TOKEN_E_BAD_VERSION:
		return "token format version not supported (this kernel reads version "
		       STR(TOKEN_VERSION) ")";
	case TOKEN_E_FORGED:
		return "token forged or altered";
	case TOKEN_E_WRONG_SERVER:
		return "token belongs to another server";
	case TOKEN_E_NO_ROOM:
		return "token payload larger than the receiving buffer";
	default:
		return "unknown token error";
	}
}

/* A bounded output buffer: text past the end is dropped, the buffer always
 * stays NUL-terminated. */
struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++)
		if (o->len + 1 < o->cap)
			o->buf[o->len++] = s[i];
	if (s[i] && i == max)
		put(o, "...", 3);
	if (o->cap > 0)
		o->buf[o->len] = '\0';
}

static void put_name(struct out *o, const char *name)
{
	put(o, "'", 1);
	put(o, name, NAME_MAX_SHOWN);
	put(o, "'", 1);
}

size_t token_describe(char *buf, size_t cap, int err, const char *server, const char *owner)
{
	struct out o = { buf, buf ? cap : 0, 0 };

	if (o.cap > 0)
		buf[0] = '\0';
	if (err == TOKEN_E_WRONG_SERVER && server) {
		put(&o, "token belongs to ", SIZE_MAX);
		if (owner) {
			put(&o, "server ", SIZE_MAX);
			put_name(&o, owner);
		} else {
			put(&o, "another server", SIZE_MAX);
		}
		put(&o, ", not ", SIZE_MAX);
		put_name(&o, server);
		return o.len;
	}
	if (server) {
		put(&o, server, NAME_MAX_SHOWN);
		put(&o, ": ", SIZE_MAX);
	}
	put(&o, token_strerror(err), SIZE_MAX);
	return o.len;
}
