/*
 * The fault handler's boot arguments (README "Kernel command line"), for
 * experiments: recovery=NAME:POLICY,... replaces cells' recovery policies,
 * and watchdog=CELL:MS,... their hang bounds, which nano_core's watchdog
 * takes once a boot (cells_watchdog_set).
 */
#include <delos/cell.h>
#include <delos/cells.h>
#include <delos/log.h>
#include <delos/string.h>
#include "cells/faults/faults.h"

/*
 * recovery=NAME:POLICY (restart, reload or none) replaces the manifest's
 * policy of that cell; its tries and backoff stay the manifest's.
 */
static void policy_override(const char *name, struct manifest_recovery *rec)
{
	static const char *const names[] = { "none", "restart", "reload" };
	char v[128];
	size_t len = strlen(name);

	if (!cmdline_get("recovery", v, sizeof(v)))
		return;
	for (const char *p = v; *p; p++) {
		if ((p == v || p[-1] == ',') && strncmp(p, name, len) == 0 && p[len] == ':')
			for (int i = 0; i < 3; i++) {
				size_t n = strlen(names[i]);

				if (strncmp(p + len + 1, names[i], n) == 0 && (!p[len + 1 + n] || p[len + 1 + n] == ','))
					rec->policy = (enum manifest_policy)(MANIFEST_RECOVERY_NONE + i);
			}
	}
}

/*
 * The recovery policy of the loaded cell `name` from its manifest entry, with
 * recovery= applied, its version, and its fault_window= in ms (0 when not
 * given). A fallback=NAME@V field fills rec's fallback target for a policy
 * that is not fallback itself. 0, or LOADER_ENOENT when it is not loaded or
 * not in the manifest.
 */
int faults_policy(const char *name, struct manifest_recovery *rec, uint32_t *version, uint64_t *window_ms)
{
	const struct manifest_entry *e = cells_manifest_entry(name);
	const char *w;

	if (!e)
		return LOADER_ENOENT;
	*rec = e->recovery;
	policy_override(name, rec);
	*version = e->version;
	/* fallback=NAME@V: where escalation ends when the policy is not a fallback itself. */
	w = manifest_extra(e, "fallback");
	if (w && rec->policy != MANIFEST_RECOVERY_FALLBACK &&
	    manifest_parse_ref(w, strlen(w), rec->fallback_name, &rec->fallback_version))
		rec->fallback_name[0] = '\0';
	*window_ms = 0;
	for (w = manifest_extra(e, "fault_window"); w && *w >= '0' && *w <= '9'; w++)
		*window_ms = *window_ms * 10 + (uint64_t)(*w - '0');
	return 0;
}

/* Fills b (n of them) from v; NULL, or what is wrong (written to why, naming the part). */
static const char *watchdog_arg_parse(const char *v, struct cells_bound *b, size_t *n, char *why,
				      size_t cap)
{
	*n = 0;
	for (const char *p = v; *p; p += *p == ',') {
		const char *colon = p, *q;
		char *cell = b[*n < CELLS_WATCHDOG_BOUNDS ? *n : 0].cell;
		size_t len, i, keep;
		uint64_t ms = 0;

		while (*colon && *colon != ':' && *colon != ',')
			colon++;
		len = (size_t)(colon - p);
		if (*n == CELLS_WATCHDOG_BOUNDS)
			return snprintf(why, cap, "more than %d cells", CELLS_WATCHDOG_BOUNDS), why;
		keep = len < sizeof(b[0].cell) ? len : sizeof(b[0].cell) - 1;
		memcpy(cell, p, keep);
		cell[keep] = '\0';
		if (*colon != ':' || !len || len >= sizeof(b[0].cell))
			return snprintf(why, cap, "'%s' is not CELL:MS", cell), why;
		for (q = colon + 1; *q >= '0' && *q <= '9'; q++)
			ms = ms > CELLS_WATCHDOG_MAX_MS ? ms : ms * 10 + (uint64_t)(*q - '0');
		if (q == colon + 1 || (*q && *q != ','))
			return snprintf(why, cap, "%s: the bound is not a number of ms", cell), why;
		if (ms > CELLS_WATCHDOG_MAX_MS)
			return snprintf(why, cap, "%s: the bound is above %u ms", cell, CELLS_WATCHDOG_MAX_MS), why;
		if (!cells_manifest_has(cell))
			return snprintf(why, cap, "no cell '%s' in the manifest", cell), why;
		for (i = 0; i < *n; i++)
			if (strcmp(b[i].cell, cell) == 0)
				return snprintf(why, cap, "'%s' is named twice", cell), why;
		b[(*n)++].ms = ms;
		p = q;
	}
	return *n ? NULL : (snprintf(why, cap, "no CELL:MS given"), why);
}

/*
 * Reads watchdog= and hands its bounds to nano_core; an argument with any
 * bad part is reported and ignored whole. Only the first load of this cell
 * in a boot reports it: a reload finds the bounds taken already.
 */
void faults_watchdog_arg(void)
{
	struct cells_bound b[CELLS_WATCHDOG_BOUNDS];
	char v[384], why[96];
	const char *bad = why;
	size_t n = 0;

	if (!cmdline_get("watchdog", v, sizeof(v)))
		return;
	memset(b, 0, sizeof(b));	/* every name's unused bytes 0, as cells_watchdog_set checks */
	if (strlen(v) == sizeof(v) - 1)
		snprintf(why, sizeof(why), "longer than %zu characters", sizeof(v) - 2);
	else
		bad = watchdog_arg_parse(v, b, &n, why, sizeof(why));
	if (cells_watchdog_set(b, bad ? 0 : n))
		return;	/* a reload of this cell: the bounds were taken at its first load */
	if (bad) {
		klog(LOG_ERR, "watchdog: watchdog=%s ignored: %s; want watchdog=CELL:MS[,CELL:MS...], "
		     "cells of the manifest, MS 0 (not watched) to %u", v, bad, CELLS_WATCHDOG_MAX_MS);
		return;
	}
	for (size_t i = 0; i < n; i++)
		klog(LOG_INFO, "watchdog: %s's bound %lu ms (watchdog= on the command line)", b[i].cell,
		     b[i].ms);
}
