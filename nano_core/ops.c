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
	[OPS_TASKS_INSIDE] = OPS_TYPE_TASKS_INSIDE,
};
static const char *const slot_name[OPS_SLOTS] = {
	[OPS_FAULT_HANDLER] = "fault_handler",
	[OPS_TASK_END] = "task_end",
	[OPS_TASKS_INSIDE] = "tasks_inside",
};

/* The table; owned by nano_core, changed with interrupts off. */
static struct {
	uint32_t version;
	struct cellref ref[OPS_SLOTS];
	bool set[OPS_SLOTS];
	uint64_t data[OPS_SLOTS];	/* the holder's word (ops_set_data) */
} ops = { OPS_VERSION, { { "", "" } }, { false }, { 0 } };

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
	if (!ops.set[slot] || strcmp(ops.ref[slot].cell, r.cell))
		ops.data[slot] = 0;
	ops.ref[slot] = r;
	ops.set[slot] = true;
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

int ops_set_data(uint64_t slot, const char *cell, uint64_t value)
{
	uint64_t flags;
	int err = 0;

	if (slot >= OPS_SLOTS)
		return OPS_E_SLOT;
	flags = irq_save();
	if (!ops.set[slot] || !cell || strcmp(ops.ref[slot].cell, cell) != 0)
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
