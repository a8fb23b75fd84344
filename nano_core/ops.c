/* Ops slots (include/delos/ops.h). */
#include <delos/cellref.h>
#include <delos/irqflags.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/string.h>
#include <stdbool.h>

static const uint64_t slot_type[OPS_SLOTS] = {
	[OPS_FAULT_HANDLER] = OPS_TYPE_FAULT_HANDLER,
	[OPS_TASK_END] = OPS_TYPE_TASK_END,
	[OPS_DEBUG_TRAP] = OPS_TYPE_DEBUG_TRAP,
};
static const char *const slot_name[OPS_SLOTS] = {
	[OPS_FAULT_HANDLER] = "fault_handler",
	[OPS_TASK_END] = "task_end",
	[OPS_DEBUG_TRAP] = "debug_trap",
};

/* The table; owned by nano_core, changed with interrupts off. */
static struct {
	uint32_t version;
	struct cellref ref[OPS_SLOTS];
	bool set[OPS_SLOTS];
	struct cellref_cache cache[OPS_SLOTS];
} ops = { OPS_VERSION, { { "", "" } }, { false }, { { 0, 0 } } };

int ops_register(uint64_t slot, const char *cell, const char *sym, uint64_t type_tag)
{
	struct cellref r;
	uint64_t flags;

	if (slot >= OPS_SLOTS) {
		klog(LOG_ERR, "ops: no slot %lu", slot);
		return OPS_E_SLOT;
	}
	if (type_tag != slot_type[slot]) {
		klog(LOG_ERR, "ops: slot %s wants type %08lx, not %08lx (%s:%s)", slot_name[slot],
		     slot_type[slot], type_tag, cell ? cell : "?", sym ? sym : "?");
		return OPS_E_TYPE;
	}
	if (!cellref_make(&r, cell, sym))
		return OPS_E_NAME;
	if (!cellref_resolve(&r)) {
		klog(LOG_ERR, "ops: slot %s: %s:%s does not resolve", slot_name[slot], cell, sym);
		return OPS_E_RESOLVE;
	}
	flags = irq_save();
	ops.ref[slot] = r;
	ops.set[slot] = true;
	ops.cache[slot].gen = 0;
	irq_restore(flags);
	klog(LOG_DEBUG, "ops: slot %s is %s:%s", slot_name[slot], cell, sym);
	return 0;
}

int ops_unregister(uint64_t slot, const char *cell)
{
	uint64_t flags;
	int err = 0;

	if (slot >= OPS_SLOTS)
		return OPS_E_SLOT;
	flags = irq_save();
	if (!ops.set[slot] || !cell || strcmp(ops.ref[slot].cell, cell) != 0)
		err = OPS_E_OWNER;
	else
		ops.set[slot] = false;
	irq_restore(flags);
	return err;
}

uint64_t ops_resolve(uint64_t slot)
{
	return slot < OPS_SLOTS && ops.set[slot] ? cellref_resolve(&ops.ref[slot]) : 0;
}

const char *ops_holder(uint64_t slot)
{
	return slot < OPS_SLOTS && ops.set[slot] ? ops.ref[slot].cell : "";
}

uint64_t ops_resolve_cached(uint64_t slot)
{
	return slot < OPS_SLOTS && ops.set[slot] ? cellref_resolve_cached(&ops.ref[slot], &ops.cache[slot]) : 0;
}
