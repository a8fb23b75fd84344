/*
 * Tries to rewrite code through the physmap, as a cell that holds the
 * phys_mem grant could: its own text and rodata, and nano_core's text. Each
 * write must fault as a write to a read-only page, which the console's `call`
 * catches and reports. wx_read_own_text shows that the alias itself is there.
 */
#include <delos/cell.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/paging.h>
#include <stdint.h>

int wx_write_own_text(void);
int wx_write_own_rodata(void);
int wx_write_core_text(void);
int wx_read_own_text(void);

static const char rodata_bytes[] = "read-only data of wx_probe";

/* The physmap alias of the byte at va, through the phys_mem grant; NULL if none. */
static volatile uint8_t *alias_of(const volatile void *va)
{
	uint64_t pa;

	if (!paging_translate((uint64_t)va, &pa))
		return NULL;
	return phys_map(pa, 1);
}

/* Rewrites one byte of `what` with its own value; returns only if the write went through. */
static int rewrite(const char *what, const volatile void *va)
{
	volatile uint8_t *alias = alias_of(va);

	if (!alias) {
		kprintf("wx_probe: %s at %p has no physmap alias\n", what, va);
		return -1;
	}
	kprintf("wx_probe: writing %s at %p through its physmap alias %p\n", what, va, alias);
	*alias = *alias;
	kprintf("wx_probe: the write to %s went through\n", what);
	return 1;
}

int wx_write_own_text(void)
{
	return rewrite("own text", (const void *)wx_write_own_text);
}

int wx_write_own_rodata(void)
{
	return rewrite("own rodata", rodata_bytes);
}

int wx_write_core_text(void)
{
	return rewrite("nano_core text", (const void *)kprintf);
}

/* Returns 0 if the alias reads the same byte as the cell's own mapping. */
int wx_read_own_text(void)
{
	const volatile uint8_t *code = (const volatile uint8_t *)wx_read_own_text;
	volatile uint8_t *alias = alias_of(code);

	return alias && *alias == *code ? 0 : -1;
}
