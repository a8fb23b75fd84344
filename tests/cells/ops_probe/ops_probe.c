/*
 * Registrations nano_core's ops table must refuse, changing nothing: a slot
 * with another slot's type tag, a tag of an older table version, a slot that
 * does not exist. Each returns what ops_register returned (call ops_probe ...).
 */
#include <delos/cell.h>
#include <delos/ops.h>
#include <stdint.h>

int ops_probe_route(uint64_t irq);

/* An IRQ route that drops everything: were it registered, no key would reach the shell. */
int ops_probe_route(uint64_t irq)
{
	(void)irq;
	return 0;
}

int ops_probe_wrong_tag(void)
{
	return ops_register(OPS_IRQ_ROUTE, "ops_probe", "ops_probe_route", OPS_TYPE_IRQ_EXIT);
}

int ops_probe_old_version(void)
{
	return ops_register(OPS_IRQ_ROUTE, "ops_probe", "ops_probe_route",
			    (1u << 24) | (OPS_TYPE_IRQ_ROUTE & 0xffffffu));
}

int ops_probe_no_slot(void)
{
	return ops_register(OPS_SLOTS, "ops_probe", "ops_probe_route", OPS_TYPE_IRQ_ROUTE);
}
