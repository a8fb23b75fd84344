/* Ops slots (include/delos/ops.h) and how they follow a swap (nano_core/ops_core.h). */
#include <delos/cellref.h>
#include <delos/irqflags.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/string.h>
#include <stdbool.h>
#include "nano_core/ops_core.h"

/* Each slot's fixed type tag and name, and whether a swap may leave it empty. */
static const struct {
	uint64_t type;
	const char *name;
	bool required;
} slot_info[OPS_SLOTS] = {
	[OPS_FAULT_HANDLER] = { OPS_TYPE_FAULT_HANDLER, "fault_handler", false },
	[OPS_TASK_END] = { OPS_TYPE_TASK_END, "task_end", true },
	[OPS_IRQ_ROUTE] = { OPS_TYPE_IRQ_ROUTE, "irq_route", true },
	[OPS_IRQ_EXIT] = { OPS_TYPE_IRQ_EXIT, "irq_exit", true },
	[OPS_IDLE_NEXT] = { OPS_TYPE_IDLE_NEXT, "idle_next", true },
	[OPS_TASK_RESTART] = { OPS_TYPE_TASK_RESTART, "task_restart", true },
	[OPS_TASK_RESTART_SELF] = { OPS_TYPE_RESTART_SELF, "task_restart_self", true },
	[OPS_STATE_BEGIN] = { OPS_TYPE_STATE_BEGIN, "state_begin", true },
	[OPS_STATE_END] = { OPS_TYPE_STATE_END, "state_end", true },
	[OPS_SCREEN_WRITE] = { OPS_TYPE_SCREEN_WRITE, "screen_write", false },
	[OPS_CONSOLE_OWNER] = { OPS_TYPE_CONSOLE_OWNER, "console_owner", false },
	[OPS_CONSOLE_COMMAND] = { OPS_TYPE_CONSOLE_CMD, "console_command", false },
	[OPS_TASKS_INSIDE] = { OPS_TYPE_TASKS_INSIDE, "tasks_inside", true },
	[OPS_TASK_YIELD] = { OPS_TYPE_TASK_YIELD, "task_yield", false },
	[OPS_DEBUG_TRAP] = { OPS_TYPE_DEBUG_TRAP, "debug_trap", false },
	[OPS_FAULT_RECOVER_NOW] = { OPS_TYPE_RECOVER_NOW, "fault_recover_now", false },
};

/* The table; owned by nano_core, changed with interrupts off. */
static struct {
	uint32_t version;
	struct cellref ref[OPS_SLOTS];
	struct cellref_cache cache[OPS_SLOTS];
	bool set[OPS_SLOTS];
	uint64_t data[OPS_SLOTS];	/* the holder's word (ops_set_data) */
} ops = { .version = OPS_VERSION };

int ops_register(uint64_t slot, const char *cell, const char *sym, uint64_t type_tag)
{
	struct cellref r;
	uint64_t flags;

	if (slot >= OPS_SLOTS) {
		klog(LOG_ERR, "ops: no slot %lu (this nano_core has %d, table version %u)", slot,
		     OPS_SLOTS, OPS_VERSION);
		return OPS_E_SLOT;
	}
	if (type_tag != slot_info[slot].type) {
		klog(LOG_ERR, "ops: slot %s wants type %08lx, not %08lx (%s:%s); refused",
		     slot_info[slot].name, slot_info[slot].type, type_tag, cell ? cell : "?",
		     sym ? sym : "?");
		return OPS_E_TYPE;
	}
	if (!cellref_make(&r, cell, sym)) {
		klog(LOG_ERR, "ops: slot %s: cell or symbol name empty or too long; refused",
		     slot_info[slot].name);
		return OPS_E_NAME;
	}
	if (!cellref_resolve(&r)) {
		klog(LOG_ERR, "ops: slot %s: %s:%s does not resolve; refused", slot_info[slot].name,
		     cell, sym);
		return OPS_E_RESOLVE;
	}
	flags = irq_save();
	if (!ops.set[slot] || strcmp(ops.ref[slot].cell, r.cell))
		ops.data[slot] = 0;
	ops.ref[slot] = r;
	ops.cache[slot].gen = 0;
	ops.set[slot] = true;
	irq_restore(flags);
	return 0;
}

/* Whether `cell` holds slot (interrupts off, slot in range). */
static bool holds(uint64_t slot, const char *cell)
{
	return ops.set[slot] && cell && strcmp(ops.ref[slot].cell, cell) == 0;
}

bool ops_switches(const char *cell)
{
	static const uint64_t slots[] = { OPS_IRQ_EXIT, OPS_TASK_END, OPS_IDLE_NEXT };
	uint64_t flags = irq_save();
	bool found = false;

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]) && !found; i++)
		found = holds(slots[i], cell);
	irq_restore(flags);
	return found;
}

int ops_unregister(uint64_t slot, const char *cell)
{
	uint64_t flags;
	int err = 0;

	if (slot >= OPS_SLOTS)
		return OPS_E_SLOT;
	flags = irq_save();
	if (!holds(slot, cell))
		err = OPS_E_OWNER;
	else
		ops.set[slot] = false;
	irq_restore(flags);
	return err;
}

uint64_t ops_resolve(uint64_t slot)
{
	if (slot >= OPS_SLOTS || !ops.set[slot])
		return 0;
	return cellref_resolve_cached(&ops.ref[slot], &ops.cache[slot]);
}

const char *ops_slot_name(uint64_t slot)
{
	return slot < OPS_SLOTS ? slot_info[slot].name : "";
}

const char *ops_holder(uint64_t slot)
{
	return slot < OPS_SLOTS && ops.set[slot] ? ops.ref[slot].cell : "";
}

const char *ops_symbol(uint64_t slot)
{
	return slot < OPS_SLOTS && ops.set[slot] ? ops.ref[slot].sym : "";
}

int ops_required(uint64_t slot)
{
	return slot < OPS_SLOTS && slot_info[slot].required;
}

/*
 * Whether slot is held by cell c: by its name, or by the symbol it exports
 * (the slot's function resolves into c's range: cells do not overlap, and
 * a cellref lands only on a cell's own function of that name). No symbol
 * look-up: a cell that does not define the name would cost a walk of its
 * whole symbol table, once per slot.
 */
static bool held_by(uint64_t slot, const struct loader_cell *c)
{
	struct loader_cell_info ci;
	uint64_t held;

	loader_cell_info(c, &ci);
	return strcmp(ops.ref[slot].cell, ci.name) == 0 ||
	       ((held = ops_resolve(slot)) && held >= ci.start && held < ci.end);
}

int ops_unload_check(const struct loader_cell *c, char *why, size_t cap)
{
	struct loader_cell_info ci;

	for (uint64_t s = 0; s < OPS_SLOTS; s++) {
		if (!ops.set[s] || !slot_info[s].required || !held_by(s, c))
			continue;
		loader_cell_info(c, &ci);
		snprintf(why, cap, "%s holds the required ops slot %s (%s:%s)", ci.name,
			 slot_info[s].name, ops.ref[s].cell, ops.ref[s].sym);
		return -1;
	}
	return 0;
}

int ops_swap_check(const struct swap_pair *pairs, size_t n, char *why, size_t cap)
{
	uint64_t addr;

	for (uint64_t s = 0; s < OPS_SLOTS; s++) {
		if (!ops.set[s] || !slot_info[s].required)
			continue;
		for (size_t i = 0; i < n; i++) {
			struct loader_cell_info ni;
			if (!held_by(s, pairs[i].old) || loader_cell_lookup(pairs[i].new, ops.ref[s].sym,
									    &addr) == 0)
				continue;
			loader_cell_info(pairs[i].new, &ni);
			snprintf(why, cap, "it would leave the required ops slot %s empty: %s@%s does "
				 "not export %s", slot_info[s].name, ni.name, ni.version, ops.ref[s].sym);
			return -1;
		}
	}
	return 0;
}

/* With the world stopped: every slot held by an old cell of the swap follows it to its new one. */
void ops_swap_commit(const struct swap_pair *pairs, size_t n)
{
	const char *old_name[SWAP_MAX_PAIRS], *new_name[SWAP_MAX_PAIRS];
	struct loader_cell_info ci;
	size_t renamed = 0;

	n = n < SWAP_MAX_PAIRS ? n : SWAP_MAX_PAIRS;
	for (size_t i = 0; i < n; i++) {
		loader_cell_info(pairs[i].old, &ci);
		old_name[renamed] = ci.name;
		loader_cell_info(pairs[i].new, &ci);
		new_name[renamed] = ci.name;
		renamed += strcmp(old_name[renamed], ci.name) != 0;	/* a same-name slot stays */
	}
	for (uint64_t s = 0; s < OPS_SLOTS; s++) {
		if (!ops.set[s] || n == 0)
			continue;
		for (size_t i = 0; i < renamed; i++)
			if (strcmp(ops.ref[s].cell, old_name[i]) == 0) {
				struct cellref r = ops.ref[s];
				cellref_make(&ops.ref[s], new_name[i], r.sym);
			}
		ops.cache[s].gen = 0;
	}
}

int ops_set_data(uint64_t slot, const char *cell, uint64_t value)
{
	uint64_t flags;
	int err = 0;

	if (slot >= OPS_SLOTS)
		return OPS_E_SLOT;
	flags = irq_save();
	if (!holds(slot, cell))
		err = OPS_E_OWNER;
	else
		ops.data[slot] = value;
	irq_restore(flags);
	return err;
}

uint64_t ops_data(uint64_t slot)
{
	return slot < OPS_SLOTS && ops.set[slot] ? ops.data[slot] : 0;
}
