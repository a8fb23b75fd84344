/*
 * Host tests for the cells.manifest parser (loader/manifest.c): good
 * manifests, every error with its message, line endings, long lines, and
 * random buffers that must never crash it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/manifest.h>

#define CAPACITY 64

static struct manifest_entry entries[CAPACITY];
static struct manifest m;
static struct manifest_error err;

/* Parses len bytes copied into a heap buffer of exactly that size, so that
 * AddressSanitizer catches any read past the end. */
static int parse_n(const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, text, len);
	manifest_init(&m, entries, CAPACITY);
	rc = manifest_parse(&m, "cells.manifest", copy, len, &err);
	free(copy);
	return rc;
}

static int parse(const char *text)
{
	return parse_n(text, strlen(text));
}

static const struct manifest_entry *entry(size_t i)
{
	cr_assert_lt(i, m.count);
	return &m.entries[i];
}

static void expect_error(const char *text, int code, const char *message)
{
	int rc = parse(text);

	cr_assert_eq(rc, code, "rc %d for \"%s\": %s", rc, text, err.message);
	cr_assert_str_eq(err.message, message);
	cr_assert_eq(m.count, 0, "entries left after an error");
}

/* Good manifests. */

Test(manifest, full_entry)
{
	const struct manifest_entry *e;

	cr_assert_eq(parse("cell hello@2 object=cells/hello@2.o grants=core,port_io "
			   "boot=yes recovery=fallback:hello@1,tries=3,backoff=250 "
			   "swap_hook=hello_migrate\n"
			   "cell hello@1\n"),
		     MANIFEST_OK, "%s", err.message);
	cr_assert_eq(m.count, 2);
	e = entry(0);
	cr_assert_str_eq(e->name, "hello");
	cr_assert_eq(e->version, 2);
	cr_assert_str_eq(e->object, "cells/hello@2.o");
	cr_assert_eq(e->grant_count, 2);
	cr_assert_str_eq(e->grants[0], "core");
	cr_assert_str_eq(e->grants[1], "port_io");
	cr_assert(e->boot);
	cr_assert_eq(e->recovery.policy, MANIFEST_RECOVERY_FALLBACK);
	cr_assert_str_eq(e->recovery.fallback_name, "hello");
	cr_assert_eq(e->recovery.fallback_version, 1);
	cr_assert_eq(e->recovery.tries, 3);
	cr_assert_eq(e->recovery.backoff_ms, 250);
	cr_assert_eq(e->extra_count, 1);
	cr_assert_str_eq(manifest_extra(e, "swap_hook"), "hello_migrate");
	cr_assert_eq(e->line, 1);
	cr_assert_eq(entry(1)->line, 2);
}

Test(manifest, defaults)
{
	const struct manifest_entry *e;

	cr_assert_eq(parse("cell ticker@7"), MANIFEST_OK);
	e = entry(0);
	cr_assert_str_eq(e->object, "cells/ticker@7.o");
	cr_assert_eq(e->grant_count, 0);
	cr_assert_not(e->boot);
	cr_assert_eq(e->recovery.policy, MANIFEST_RECOVERY_NONE);
	cr_assert_eq(e->recovery.tries, 0);
	cr_assert_eq(e->recovery.backoff_ms, 0);
	cr_assert_eq(e->extra_count, 0);
}

Test(manifest, empty_and_none_grants)
{
	cr_assert_eq(parse("cell a@1 grants=\ncell b@1 grants=none\n"), MANIFEST_OK);
	cr_assert_eq(entry(0)->grant_count, 0);
	cr_assert_eq(entry(1)->grant_count, 0);
}

Test(manifest, recovery_policies)
{
	cr_assert_eq(parse("cell a@1 recovery=restart\n"
			   "cell b@1 recovery=reload,backoff=0,tries=1\n"
			   "cell c@1 recovery=none\n"
			   "cell d@1 recovery=restart,tries=4294967295\n"),
		     MANIFEST_OK, "%s", err.message);
	cr_assert_eq(entry(0)->recovery.policy, MANIFEST_RECOVERY_RESTART);
	cr_assert_eq(entry(1)->recovery.policy, MANIFEST_RECOVERY_RELOAD);
	cr_assert_eq(entry(1)->recovery.tries, 1);
	cr_assert_eq(entry(1)->recovery.backoff_ms, 0);
	cr_assert_eq(entry(2)->recovery.policy, MANIFEST_RECOVERY_NONE);
	cr_assert_eq(entry(3)->recovery.tries, 4294967295u);
	cr_assert_str_eq(manifest_policy_name(MANIFEST_RECOVERY_FALLBACK), "fallback");
	cr_assert_str_eq(manifest_policy_name(MANIFEST_RECOVERY_RELOAD), "reload");
}

Test(manifest, fallback_may_point_forward)
{
	cr_assert_eq(parse("cell net@2 recovery=fallback:net@1\ncell net@1\n"),
		     MANIFEST_OK, "%s", err.message);
}

Test(manifest, comments_blank_lines_and_whitespace)
{
	cr_assert_eq(parse("# header\n\n   \n\t# indented comment\n"
			   "\t cell  a@1\tboot=yes   # trailing comment boot=no\n"
			   "cell b@1 object=odd#name.o\n"),
		     MANIFEST_OK, "%s", err.message);
	cr_assert_eq(m.count, 2);
	cr_assert(entry(0)->boot);
	cr_assert_eq(entry(0)->line, 5);
	cr_assert_str_eq(entry(1)->object, "odd#name.o");
}

Test(manifest, comment_may_hold_any_byte)
{
	static const char text[] = "# caf\xc3\xa9 \x01\x00\xff\ncell a@1\n";

	cr_assert_eq(parse_n(text, sizeof text - 1), MANIFEST_OK, "%s", err.message);
	cr_assert_eq(m.count, 1);
}

Test(manifest, no_trailing_newline)
{
	cr_assert_eq(parse("cell a@1\ncell b@2 boot=yes"), MANIFEST_OK);
	cr_assert_eq(m.count, 2);
	cr_assert(entry(1)->boot);
}

Test(manifest, crlf)
{
	cr_assert_eq(parse("# c\r\ncell a@1 boot=yes\r\n\r\ncell b@1 grants=core\r\n"),
		     MANIFEST_OK, "%s", err.message);
	cr_assert_eq(m.count, 2);
	cr_assert(entry(0)->boot);
	cr_assert_str_eq(entry(1)->grants[0], "core");
	cr_assert_eq(entry(1)->line, 4);
}

Test(manifest, crlf_error_names_line)
{
	expect_error("cell a@1\r\n\r\ncell b@1 boot=maybe\r\n", MANIFEST_ESYNTAX,
		     "cells.manifest:3: boot must be 'yes' or 'no', got 'maybe'");
}

Test(manifest, empty_buffer)
{
	cr_assert_eq(parse_n("", 0), MANIFEST_OK);
	cr_assert_eq(m.count, 0);
	cr_assert_eq(parse("\n\n# only comments\n"), MANIFEST_OK);
	cr_assert_eq(m.count, 0);
}

Test(manifest, length_bounds_the_parse)
{
	static const char text[] = "cell a@1\ncell b@1 boot=maybe";

	cr_assert_eq(parse_n(text, strlen("cell a@1\n")), MANIFEST_OK);
	cr_assert_eq(m.count, 1);
}

Test(manifest, long_lines)
{
	size_t pad = 100000;
	char *text = malloc(pad * 3 + 200);
	char *p = text;

	memset(p, ' ', pad);
	p += pad;
	p += sprintf(p, "cell a@1");
	memset(p, '\t', pad);
	p += pad;
	p += sprintf(p, "boot=yes # ");
	memset(p, 'x', pad);
	p += pad;
	p += sprintf(p, "\ncell b@1\n");
	cr_assert_eq(parse_n(text, (size_t)(p - text)), MANIFEST_OK, "%s", err.message);
	cr_assert_eq(m.count, 2);
	cr_assert(entry(0)->boot);
	free(text);
}

Test(manifest, longest_fields_fit)
{
	char text[512];
	char name[32], path[128], value[96];

	memset(name, 'n', 31), name[31] = 0;
	memset(path, 'p', 127), path[127] = 0;
	memset(value, 'v', 95), value[95] = 0;
	snprintf(text, sizeof text, "cell %s@4294967295 object=%s note=%s",
		 name, path, value);
	cr_assert_eq(parse(text), MANIFEST_OK, "%s", err.message);
	cr_assert_str_eq(entry(0)->name, name);
	cr_assert_eq(entry(0)->version, 4294967295u);
	cr_assert_str_eq(entry(0)->object, path);
	cr_assert_str_eq(manifest_extra(entry(0), "note"), value);
}

Test(manifest, guard_lists_symbols_under_one_grant)
{
	const struct manifest_entry *e;

	cr_assert_eq(parse("cell state_db@1 guard=test_hooks:statedb_set_fail_point,sdb_poke\n"
			   "cell hello@1\n"), MANIFEST_OK, "%s", err.message);
	e = entry(0);
	cr_assert_str_eq(e->guard_grant, "test_hooks");
	cr_assert_eq(e->guarded_count, 2);
	cr_assert_str_eq(e->guarded[0], "statedb_set_fail_point");
	cr_assert_str_eq(e->guarded[1], "sdb_poke");
	cr_assert_str_eq(manifest_guard(e, "sdb_poke"), "test_hooks");
	cr_assert_null(manifest_guard(e, "statedb_create"));
	cr_assert_eq(e->extra_count, 0, "guard= is not an extra field");
	e = entry(1);
	cr_assert_eq(e->guarded_count, 0);
	cr_assert_null(manifest_guard(e, "statedb_set_fail_point"));
}

Test(manifest, extras_kept_in_order)
{
	const struct manifest_entry *e;

	cr_assert_eq(parse("cell a@1 zeta=1 boot=yes alpha=x=y empty= "
			   "Path=/a/b,c:d"),
		     MANIFEST_OK, "%s", err.message);
	e = entry(0);
	cr_assert_eq(e->extra_count, 4);
	cr_assert_str_eq(e->extras[0].key, "zeta");
	cr_assert_str_eq(e->extras[1].key, "alpha");
	cr_assert_str_eq(manifest_extra(e, "alpha"), "x=y");
	cr_assert_str_eq(manifest_extra(e, "empty"), "");
	cr_assert_str_eq(manifest_extra(e, "Path"), "/a/b,c:d");
	cr_assert_null(manifest_extra(e, "boot"));
	cr_assert_null(manifest_extra(e, "missing"));
}

Test(manifest, error_pointer_may_be_null)
{
	const char *text = "cell a@1 boot=maybe";

	manifest_init(&m, entries, CAPACITY);
	cr_assert_eq(manifest_parse(&m, NULL, text, strlen(text), NULL),
		     MANIFEST_ESYNTAX);
	cr_assert_eq(manifest_parse(&m, NULL, "cell a@1", 8, NULL), MANIFEST_OK);
}

Test(manifest, default_source_name)
{
	manifest_init(&m, entries, CAPACITY);
	manifest_parse(&m, NULL, "bogus", 5, &err);
	cr_assert_str_eq(err.message,
			 "manifest:1: expected 'cell NAME@VERSION', got 'bogus'");
	cr_assert_eq(err.line, 1);
}

Test(manifest, reparse_replaces_entries)
{
	cr_assert_eq(parse("cell a@1\ncell b@1\n"), MANIFEST_OK);
	cr_assert_eq(m.count, 2);
	cr_assert_eq(manifest_parse(&m, "x", "cell c@1", 8, &err), MANIFEST_OK);
	cr_assert_eq(m.count, 1);
	cr_assert_null(manifest_find(&m, "a", 1));
	cr_assert_str_eq(err.message, "");
}

Test(manifest, exact_capacity)
{
	struct manifest_entry two[2];

	manifest_init(&m, two, 2);
	cr_assert_eq(manifest_parse(&m, "c", "cell a@1\ncell a@2\n", 18, &err),
		     MANIFEST_OK);
	cr_assert_eq(m.count, 2);
}

/* Lookups. */

Test(manifest_lookup, find_and_versions)
{
	uint32_t v[8];

	cr_assert_eq(parse("cell hello@3\ncell ticker@1\ncell hello@1\n"
			   "cell hello@20\ncell hello@2\n"),
		     MANIFEST_OK);
	cr_assert_eq(manifest_find(&m, "hello", 20), &m.entries[3]);
	cr_assert_null(manifest_find(&m, "hello", 4));
	cr_assert_null(manifest_find(&m, "hell", 1));
	cr_assert_eq(manifest_find_ref(&m, "ticker@1"), &m.entries[1]);
	cr_assert_null(manifest_find_ref(&m, "ticker@01"));
	cr_assert_null(manifest_find_ref(&m, "ticker"));

	cr_assert_eq(manifest_versions(&m, "hello", v, 8), 4);
	cr_assert_eq(v[0], 1);
	cr_assert_eq(v[1], 2);
	cr_assert_eq(v[2], 3);
	cr_assert_eq(v[3], 20);
	cr_assert_eq(manifest_versions(&m, "ticker", v, 8), 1);
	cr_assert_eq(v[0], 1);
	cr_assert_eq(manifest_versions(&m, "nope", v, 8), 0);
}

Test(manifest_lookup, versions_truncated_keeps_smallest)
{
	uint32_t v[3] = { 0, 0, 99 };

	cr_assert_eq(parse("cell a@5\ncell a@4\ncell a@3\ncell a@2\ncell a@1\n"),
		     MANIFEST_OK);
	cr_assert_eq(manifest_versions(&m, "a", v, 2), 5);
	cr_assert_eq(v[0], 1);
	cr_assert_eq(v[1], 2);
	cr_assert_eq(v[2], 99, "wrote past max");
	cr_assert_eq(manifest_versions(&m, "a", NULL, 0), 5);
}

Test(manifest_lookup, has_grant)
{
	cr_assert_eq(parse("cell a@1 grants=core,irq"), MANIFEST_OK);
	cr_assert(manifest_has_grant(entry(0), "irq"));
	cr_assert_not(manifest_has_grant(entry(0), "port_io"));
	cr_assert_not(manifest_has_grant(entry(0), "cor"));
}

Test(manifest_lookup, parse_ref)
{
	char name[MANIFEST_NAME_MAX + 1] = "untouched";
	uint32_t version = 77;

	cr_assert_eq(manifest_parse_ref("log_sink@12", 11, name, &version),
		     MANIFEST_OK);
	cr_assert_str_eq(name, "log_sink");
	cr_assert_eq(version, 12);
	cr_assert_eq(manifest_parse_ref("log_sink@12", 10, name, &version),
		     MANIFEST_OK, "length must bound the ref");
	cr_assert_eq(version, 1);
	strcpy(name, "untouched");
	version = 77;
	cr_assert_eq(manifest_parse_ref("a@0", 3, name, &version), MANIFEST_ESYNTAX);
	cr_assert_eq(manifest_parse_ref("a@1\0", 4, name, &version), MANIFEST_ESYNTAX);
	cr_assert_eq(manifest_parse_ref("@1", 2, name, &version), MANIFEST_ESYNTAX);
	cr_assert_eq(manifest_parse_ref("", 0, name, &version), MANIFEST_ESYNTAX);
	cr_assert_str_eq(name, "untouched");
	cr_assert_eq(version, 77);
}

Test(manifest_lookup, count_lines)
{
	const char *text = "# c\n\ncell a@1\n  \t\r\n  cell b@1\r\n  # x\ngarbage";

	cr_assert_eq(manifest_count_lines(text, strlen(text)), 3);
	cr_assert_eq(manifest_count_lines("", 0), 0);
	cr_assert_eq(manifest_count_lines("cell a@1", 8), 1);
}

/* Errors: each case asserts the whole message. */

#define ERROR_TEST(name, text, code, message)                                  \
	Test(manifest_errors, name)                                            \
	{                                                                      \
		expect_error(text, code, message);                             \
	}

ERROR_TEST(unknown_directive, "cel hello@1", MANIFEST_ESYNTAX,
	   "cells.manifest:1: expected 'cell NAME@VERSION', got 'cel'")
ERROR_TEST(missing_ref, "cell   # nothing\n", MANIFEST_ESYNTAX,
	   "cells.manifest:1: missing NAME@VERSION after 'cell'")
ERROR_TEST(ref_without_at, "cell hello boot=yes", MANIFEST_ESYNTAX,
	   "cells.manifest:1: expected NAME@VERSION, got 'hello'")
ERROR_TEST(name_starts_with_digit, "cell 9lives@1", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid cell name '9lives'")
ERROR_TEST(name_empty, "cell @1", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid cell name ''")
ERROR_TEST(name_with_dash, "cell log-sink@1", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid cell name 'log-sink'")
ERROR_TEST(name_too_long, "cell abcdefghijklmnopqrstuvwxyz012345@1",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: cell name 'abcdefghijklmnopqrstuvwxyz012345' is "
	   "longer than 31 characters")
ERROR_TEST(version_zero, "cell hello@0", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid version '0' in 'hello@0' (expected a "
	   "positive integer)")
ERROR_TEST(version_leading_zero, "cell hello@01", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid version '01' in 'hello@01' (expected a "
	   "positive integer)")
ERROR_TEST(version_overflow, "cell hello@4294967296", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid version '4294967296' in "
	   "'hello@4294967296' (expected a positive integer)")
ERROR_TEST(version_not_number, "cell hello@v2", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid version 'v2' in 'hello@v2' (expected a "
	   "positive integer)")
ERROR_TEST(version_negative, "cell hello@-1", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid version '-1' in 'hello@-1' (expected a "
	   "positive integer)")
ERROR_TEST(version_empty, "cell hello@", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid version '' in 'hello@' (expected a "
	   "positive integer)")
ERROR_TEST(duplicate, "cell hello@1\n# again:\ncell hello@1 boot=yes\n",
	   MANIFEST_EDUPLICATE,
	   "cells.manifest:3: duplicate cell hello@1 (first on line 1)")
ERROR_TEST(not_key_value, "cell hello@1 boot", MANIFEST_ESYNTAX,
	   "cells.manifest:1: expected key=value, got 'boot'")
ERROR_TEST(empty_key, "cell hello@1 =yes", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid key '' in '=yes'")
ERROR_TEST(bad_key, "cell hello@1 a.b=1", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid key 'a.b' in 'a.b=1'")
ERROR_TEST(key_too_long,
	   "cell hello@1 abcdefghijklmnopqrstuvwxyz012345=1", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid key 'abcdefghijklmnopqrstuvwxyz012345' in "
	   "'abcdefghijklmnopqrstuvwxyz012345=1'")
ERROR_TEST(known_key_twice, "cell hello@1 boot=yes grants=core boot=no",
	   MANIFEST_ESYNTAX, "cells.manifest:1: key 'boot' given twice")
ERROR_TEST(extra_key_twice, "cell hello@1 hook=a hook=b", MANIFEST_ESYNTAX,
	   "cells.manifest:1: key 'hook' given twice")
ERROR_TEST(guard_without_colon, "cell a@1 guard=test_hooks", MANIFEST_ESYNTAX,
	   "cells.manifest:1: guard needs a grant and symbols: "
	   "guard=GRANT:SYM[,SYM...], got 'test_hooks'")
ERROR_TEST(guard_without_symbols, "cell a@1 guard=test_hooks:", MANIFEST_ESYNTAX,
	   "cells.manifest:1: guard needs a grant and symbols: "
	   "guard=GRANT:SYM[,SYM...], got 'test_hooks:'")
ERROR_TEST(guard_bad_grant, "cell a@1 guard=test-hooks:f", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid guard grant 'test-hooks'")
ERROR_TEST(guard_none_grant, "cell a@1 guard=none:f", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid guard grant 'none'")
ERROR_TEST(guard_empty_symbol, "cell a@1 guard=t:f,,g", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid guarded symbol '' in 't:f,,g'")
ERROR_TEST(guard_bad_symbol, "cell a@1 guard=t:f,9g", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid guarded symbol '9g' in 't:f,9g'")
ERROR_TEST(guard_symbol_twice, "cell a@1 guard=t:f,g,f", MANIFEST_ESYNTAX,
	   "cells.manifest:1: symbol 'f' guarded twice")
ERROR_TEST(guard_too_many, "cell a@1 guard=t:a,b,c,d,e,f,g,h,i", MANIFEST_ESYNTAX,
	   "cells.manifest:1: more than 8 guarded symbols")
ERROR_TEST(guard_twice, "cell a@1 guard=t:f guard=u:g", MANIFEST_ESYNTAX,
	   "cells.manifest:1: key 'guard' given twice")
ERROR_TEST(bad_boot, "cell hello@1 boot=maybe", MANIFEST_ESYNTAX,
	   "cells.manifest:1: boot must be 'yes' or 'no', got 'maybe'")
ERROR_TEST(boot_empty, "cell hello@1 boot=", MANIFEST_ESYNTAX,
	   "cells.manifest:1: boot must be 'yes' or 'no', got ''")
ERROR_TEST(object_empty, "cell hello@1 object=", MANIFEST_ESYNTAX,
	   "cells.manifest:1: empty object path")
ERROR_TEST(object_too_long,
	   "cell hello@1 object="
	   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: object path "
	   "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer than 127 "
	   "characters")
ERROR_TEST(grant_empty_element, "cell hello@1 grants=core,,port_io",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: empty grant name in 'core,,port_io'")
ERROR_TEST(grant_trailing_comma, "cell hello@1 grants=core,", MANIFEST_ESYNTAX,
	   "cells.manifest:1: empty grant name in 'core,'")
ERROR_TEST(grant_invalid, "cell hello@1 grants=core,port-io", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid grant name 'port-io'")
ERROR_TEST(grant_twice, "cell hello@1 grants=core,irq,core", MANIFEST_ESYNTAX,
	   "cells.manifest:1: grant 'core' listed twice")
ERROR_TEST(grant_none_combined, "cell hello@1 grants=core,none",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: 'none' cannot be combined with other grants")
ERROR_TEST(too_many_grants,
	   "cell hello@1 grants=g1,g2,g3,g4,g5,g6,g7,g8,g9,g10,g11,g12,g13,g14,"
	   "g15,g16,g17",
	   MANIFEST_ESYNTAX, "cells.manifest:1: more than 16 grants")
ERROR_TEST(unknown_policy,
	   "# l1\n# l2\n# l3\ncell a@1\n\ncell b@1\ncell hello@1 recovery=rebot\n",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:7: unknown recovery policy 'rebot'")
ERROR_TEST(policy_empty, "cell hello@1 recovery=", MANIFEST_ESYNTAX,
	   "cells.manifest:1: unknown recovery policy ''")
ERROR_TEST(policy_with_colon, "cell hello@1 recovery=restart:now",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: unknown recovery policy 'restart:now'")
ERROR_TEST(fallback_without_target, "cell hello@1 recovery=fallback,tries=2",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: fallback needs a target: fallback:NAME@VERSION")
ERROR_TEST(fallback_bad_target, "cell hello@1 recovery=fallback:hello",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: expected NAME@VERSION, got 'hello'")
ERROR_TEST(fallback_empty_target, "cell hello@1 recovery=fallback:",
	   MANIFEST_ESYNTAX, "cells.manifest:1: expected NAME@VERSION, got ''")
ERROR_TEST(fallback_to_itself, "cell hello@2 recovery=fallback:hello@2",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: cell hello@2 cannot fall back to itself")
ERROR_TEST(fallback_missing,
	   "cell hello@1\ncell hello@2 recovery=fallback:hello@9,tries=1\n"
	   "cell other@1\n",
	   MANIFEST_EFALLBACK,
	   "cells.manifest:2: fallback hello@9 is not in the manifest")
ERROR_TEST(none_with_options, "cell hello@1 recovery=none,tries=3",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: recovery 'none' takes no options")
ERROR_TEST(unknown_option, "cell hello@1 recovery=restart,retries=3",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: unknown recovery option 'retries=3'")
ERROR_TEST(empty_option, "cell hello@1 recovery=restart,tries=2,",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: empty recovery option in 'restart,tries=2,'")
ERROR_TEST(option_twice, "cell hello@1 recovery=reload,tries=1,tries=2",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: recovery option 'tries' given twice")
ERROR_TEST(tries_zero, "cell hello@1 recovery=restart,tries=0",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: tries must be a positive integer, got '0'")
ERROR_TEST(tries_without_value, "cell hello@1 recovery=restart,tries",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: tries must be a positive integer, got ''")
ERROR_TEST(backoff_not_number, "cell hello@1 recovery=restart,backoff=1s",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: backoff must be a number of milliseconds, got '1s'")
ERROR_TEST(too_many_extras,
	   "cell hello@1 a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9", MANIFEST_ESYNTAX,
	   "cells.manifest:1: more than 8 extra fields")
ERROR_TEST(extra_value_too_long,
	   "cell hello@1 note="
	   "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	   "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: value of 'note' is longer than 95 characters")
ERROR_TEST(control_byte_in_token, "cell hello@1 boot=y\x01s", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid byte 0x01")
ERROR_TEST(high_byte_in_token, "cell h\xc3\xa9llo@1", MANIFEST_ESYNTAX,
	   "cells.manifest:1: invalid byte 0xc3")
ERROR_TEST(error_after_good_lines, "cell a@1\ncell b@1\ncell c@1 grants=a b\n",
	   MANIFEST_ESYNTAX, "cells.manifest:3: expected key=value, got 'b'")
ERROR_TEST(long_token_is_cut,
	   "cell hello@1 "
	   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	   MANIFEST_ESYNTAX,
	   "cells.manifest:1: expected key=value, got "
	   "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'")

Test(manifest_errors, nul_byte_in_token)
{
	static const char text[] = "cell a@1\ncell b\0@1\n";
	int rc = parse_n(text, sizeof text - 1);

	cr_assert_eq(rc, MANIFEST_ESYNTAX);
	cr_assert_str_eq(err.message, "cells.manifest:2: invalid byte 0x00");
	cr_assert_eq(err.line, 2);
}

Test(manifest_errors, table_full)
{
	struct manifest_entry two[2];
	const char *text = "cell a@1\ncell b@1\n\ncell c@1\n";

	manifest_init(&m, two, 2);
	cr_assert_eq(manifest_parse(&m, "cells.manifest", text, strlen(text), &err),
		     MANIFEST_EFULL);
	cr_assert_str_eq(err.message,
			 "cells.manifest:4: too many cells (the table holds 2)");
	cr_assert_eq(m.count, 0);
}

Test(manifest_errors, zero_capacity)
{
	manifest_init(&m, NULL, 0);
	cr_assert_eq(manifest_parse(&m, "m", "# nothing\n", 10, &err), MANIFEST_OK);
	cr_assert_eq(manifest_parse(&m, "m", "cell a@1", 8, &err), MANIFEST_EFULL);
	cr_assert_str_eq(err.message, "m:1: too many cells (the table holds 0)");
}

/* Random input never crashes the parser and always leaves it consistent. */

static uint64_t rng = 0x5eed5eed5eedULL;

static uint32_t next_random(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng >> 33);
}

static void check_result(int rc)
{
	size_t i;

	cr_assert(rc == MANIFEST_OK || rc == MANIFEST_ESYNTAX ||
		  rc == MANIFEST_EDUPLICATE || rc == MANIFEST_EFULL ||
		  rc == MANIFEST_EFALLBACK, "rc %d", rc);
	if (rc != MANIFEST_OK) {
		cr_assert_eq(m.count, 0);
		cr_assert_eq(strncmp(err.message, "cells.manifest:", 15), 0,
			     "message '%s'", err.message);
		cr_assert_gt(err.line, 0);
		cr_assert_lt(strlen(err.message), sizeof err.message);
		return;
	}
	for (i = 0; i < m.count; i++) {
		cr_assert_gt(entries[i].version, 0);
		cr_assert_lt(strlen(entries[i].name), sizeof entries[i].name);
		cr_assert_lt(strlen(entries[i].object), sizeof entries[i].object);
		cr_assert_leq(entries[i].grant_count, MANIFEST_GRANTS_MAX);
		cr_assert_leq(entries[i].extra_count, MANIFEST_EXTRAS_MAX);
	}
}

Test(manifest_fuzz, random_bytes)
{
	char buf[512];
	size_t len, i;
	int round;

	for (round = 0; round < 20000; round++) {
		len = next_random() % sizeof buf;
		for (i = 0; i < len; i++)
			buf[i] = (char)next_random();
		check_result(parse_n(buf, len));
	}
}

/* Random lines built from manifest-like pieces reach deeper than random bytes. */

#define PICK(array) (array[next_random() % (sizeof array / sizeof array[0])])

static size_t append(char *buf, size_t len, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (len + n > cap)
		return len;
	memcpy(buf + len, s, n);
	return len + n;
}

static size_t random_line(char *buf, size_t len, size_t cap)
{
	static const char *const starts[] = { "", "# note", "cell ", "cell ",
					      "cell ", "cel ", "\xff" };
	static const char *const refs[] = { "a@1", "b@2", "c@3", "a@2", "x@",
					    "@1", "a@01" };
	static const char *const fields[] = {
		"boot=yes", "boot=no", "grants=core", "grants=none",
		"grants=core,irq", "recovery=restart", "recovery=reload,tries=2",
		"recovery=fallback:a@1", "recovery=fallback:b@2,backoff=5",
		"object=o.o", "k=v", "bad", "boot=maybe", "\xff", "#", "=",
		"grants=core,", "recovery=none", "guard=t:f,g", "guard=t:",
	};
	static const char *const spaces[] = { " ", "\t", "  " };
	static const char *const ends[] = { "\n", "\r\n" };
	const char *start = PICK(starts);
	int n = (int)(next_random() % 5);

	len = append(buf, len, cap, start);
	if (strcmp(start, "cell ") == 0)
		len = append(buf, len, cap, PICK(refs));
	while (n-- > 0) {
		len = append(buf, len, cap, PICK(spaces));
		len = append(buf, len, cap, PICK(fields));
	}
	return append(buf, len, cap, PICK(ends));
}

Test(manifest_fuzz, random_lines)
{
	char buf[1024];
	size_t len;
	int round, lines, ok = 0;

	for (round = 0; round < 20000; round++) {
		len = 0;
		lines = (int)(next_random() % 5);
		while (lines-- > 0)
			len = random_line(buf, len, sizeof buf);
		/* Sometimes drop the final newline. */
		if (len && next_random() % 4 == 0)
			len--;

		int rc = parse_n(buf, len);

		check_result(rc);
		ok += rc == MANIFEST_OK && m.count > 0;
	}
	cr_assert_gt(ok, 500, "the generator reached only %d good manifests", ok);
}

/* Single-byte mutations of a good manifest. */
Test(manifest_fuzz, mutations)
{
	static const char good[] =
		"# Delos\ncell log_sink@1 object=cells/log_sink@1.o grants=core "
		"boot=yes recovery=restart,tries=3,backoff=100\n"
		"cell hello@2 grants=core,port_io recovery=fallback:hello@1 x=y\n"
		"cell hello@1 boot=no recovery=reload\r\n";
	char buf[sizeof good];
	int round, k;

	cr_assert_eq(parse(good), MANIFEST_OK, "%s", err.message);
	for (round = 0; round < 20000; round++) {
		memcpy(buf, good, sizeof good - 1);
		for (k = 0; k < 1 + (int)(next_random() % 3); k++)
			buf[next_random() % (sizeof good - 1)] = (char)next_random();
		check_result(parse_n(buf, sizeof good - 1));
	}
}
