/* The tokens cell: makes this boot's token key once and hands it out (tokens.h). */
#include <stdint.h>

#include <delos/cell.h>
#include <delos/log.h>
#include <delos/random.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/tokens.h>

int tokens_key(struct token_key *out)
{
	struct token_key k;
	struct statedb_meta meta;
	int n;

	if (!out)
		return TOKENS_E_INVAL;
	n = sdb_get(TOKENS_KEY_RECORD, &k, sizeof(k), &meta);
	if (n == STATEDB_E_NOT_FOUND)
		return TOKENS_E_NO_KEY;
	if (n != (int)sizeof(k) || meta.type != TOKENS_KEY_TYPE || meta.version != TOKENS_LAYOUT)
		return TOKENS_E_CORRUPT;
	if (!k.k0 && !k.k1)
		return TOKENS_E_NO_KEY;
	*out = k;
	return 0;
}

static int make_key(void)
{
	uint8_t seed[32];
	struct token_key k;
	uint32_t fingerprint;
	int err;

	random_bytes(seed, sizeof(seed));
	err = token_key_derive(seed, sizeof(seed), &k);
	memset(seed, 0, sizeof(seed));
	if (err)
		return err;
	fingerprint = token_key_fingerprint(&k);
	err = sdb_create("tokens", TOKENS_KEY_RECORD, TOKENS_KEY_TYPE, TOKENS_LAYOUT, &k, sizeof(k));
	memset(&k, 0, sizeof(k));
	if (err) {
		klog(LOG_ERR, "tokens: cannot store the key: %s", sdb_strerror(err));
		return err;
	}
	klog(LOG_INFO, "tokens: new key for this boot from %s, fingerprint %08x", random_source(),
	     fingerprint);
	return 0;
}

int cell_init(void)
{
	struct token_key k;
	int err = tokens_key(&k);

	if (err == 0) {
		klog(LOG_INFO, "tokens: keeping this boot's key, fingerprint %08x",
		     token_key_fingerprint(&k));
		memset(&k, 0, sizeof(k));
		return 0;
	}
	if (err == TOKENS_E_CORRUPT || err == TOKENS_E_NO_KEY) {
		if (sdb_delete(TOKENS_KEY_RECORD) == 0)
			klog(LOG_WARN, "tokens: the key record was bad; outstanding tokens are void");
	}
	return make_key();
}
