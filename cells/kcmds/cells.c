/* Console commands over the loader: cells, syms, deps, call. */
#include <delos/cells.h>
#include <delos/fault.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/string.h>
#include <delos/system.h>
#include <delos/trap.h>
#include "cells/kcmds/kcmds.h"

/*
 * Cell names come from cells.manifest, so none is longer than MANIFEST_NAME_MAX:
 * a longer argument is refused as such rather than looked up (and echoed whole).
 */
static bool name_fits(const char *cmd, size_t len)
{
	if (len <= MANIFEST_NAME_MAX)
		return true;
	kprintf("%s: cell name too long: %zu bytes, at most %d\n", cmd, len, MANIFEST_NAME_MAX);
	return false;
}

static struct loader_cell *find_or_say(const char *cmd, const char *name)
{
	struct loader_cell *c;

	if (!name_fits(cmd, strlen(name)))
		return NULL;
	c = cells_loader() ? loader_cell_find(cells_loader(), name) : NULL;
	if (!c)
		kprintf("no loaded cell named '%s' (see 'cells')\n", name);
	return c;
}

void kcmd_cells(int argc, char **argv)
{
	struct loader_cell_info i;

	(void)argv;
	if (argc != 1 || !cells_loader()) {
		kprintf(argc != 1 ? "usage: cells\n" : "cells: no loader\n");
		return;
	}
	kprintf("%-20s %8s %8s  %s\n", "CELL", "TEXT", "RODATA", "RANGE");
	for (struct loader_cell *c = NULL; (c = loader_cell_next(cells_loader(), c));) {
		char ref[48];
		loader_cell_info(c, &i);
		snprintf(ref, sizeof(ref), "%s@%s", i.name, i.core ? "core" : i.version);
		if (i.core)	/* nano_core: its own image */
			system_core_image(&i);
		kprintf("%-20s %8zu %8zu  %016lx-%016lx\n", ref, i.text_size, i.rodata_size, i.start,
			i.end);
	}
}

void kcmd_syms(int argc, char **argv)
{
	struct loader_cell *c;
	struct loader_sym s;

	if (argc != 2) {
		kprintf("usage: syms CELL\n");
		return;
	}
	if (!(c = find_or_say(argv[0], argv[1])))
		return;
	for (size_t i = 0; i < loader_cell_nsyms(c); i++) {
		loader_cell_sym(c, i, &s);
		kprintf("%016lx %6lu %c %s%s%s%s\n", s.addr, s.size, s.func ? 'T' : 'D',
			s.exported ? "" : "(private) ", s.name, s.grant ? "  grant " : "",
			s.grant ? s.grant : "");
	}
}

static void print_import(const struct loader_import *im, bool by_user)
{
	struct loader_import_info ii;
	struct loader_cell_info ci;

	loader_import_info(im, &ii);
	loader_cell_info(by_user ? ii.user : ii.owner, &ci);
	kprintf("  %s %s:%s (%zu site%s)\n", by_user ? "<-" : "->", ci.name, ii.symbol, ii.nsites,
		ii.nsites == 1 ? "" : "s");
}

void kcmd_deps(int argc, char **argv)
{
	struct loader_cell *c;

	if (argc != 2) {
		kprintf("usage: deps CELL\n");
		return;
	}
	if (!(c = find_or_say(argv[0], argv[1])))
		return;
	kprintf("%s uses:\n", argv[1]);
	for (struct loader_import *im = NULL; (im = loader_uses_next(c, im));)
		print_import(im, false);
	kprintf("%s is used by:\n", argv[1]);
	for (struct loader_import *im = NULL; (im = loader_users_next(c, im));)
		print_import(im, true);
}

/* Says why `call` does not run c's symbol `sym`; returns false if it may. */
static bool call_refused(struct loader_cell *c, const char *cell, const char *sym, uint64_t *fn)
{
	struct loader_cell_info ci;
	struct loader_sym s;

	loader_cell_info(c, &ci);
	if (ci.core) {
		kprintf("call: nano_core's exports are refused; call runs only global functions of "
			"loaded cells\n");
		return true;
	}
	if (loader_cell_lookup(c, sym, fn) == 0)
		return false;
	if (!loader_cell_sym_find(c, sym, &s))
		kprintf("call: %s has no symbol '%s'\n", cell, sym);
	else if (s.bind == LOADER_LOCAL)
		kprintf("call: %s:%s is a local symbol; call runs only global functions\n", cell, sym);
	else
		kprintf("call: %s:%s is data, not a function; call runs only global functions\n", cell,
			sym);
	return true;
}

void kcmd_call(int argc, char **argv)
{
	struct loader_cell *c;
	struct trap_info ti;
	uint64_t fn;
	int result;

	if (argc != 3) {
		kprintf("usage: call CELL SYMBOL   (runs int SYMBOL(void), a global function of CELL)\n");
		return;
	}
	if (!(c = find_or_say(argv[0], argv[1])) || call_refused(c, argv[1], argv[2], &fn))
		return;
	if (cells_call_in(FAULT_CTX_COMMAND, fn, 0, &result, &ti)) {
		kprintf("call: %s:%s raised %s at %016lx (error 0x%lx, CR2 %016lx); the call was abandoned\n",
			argv[1], argv[2], trap_name(ti.vector), ti.rip, ti.error, ti.cr2);
		return;
	}
	kprintf("call: %s:%s returned %d\n", argv[1], argv[2], result);
}
