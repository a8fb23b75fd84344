/* Built-in tests chosen by `test=NAME` on the kernel command line. */
#ifndef DELOS_SELFTEST_H
#define DELOS_SELFTEST_H

#include <delos/mb2.h>

/*
 * Runs the named test, prints "selftest NAME: PASS" or "...: FAIL (why)",
 * and ends QEMU with status 0 on success and 1 on failure (2: unknown test).
 */
_Noreturn void selftest_run(const char *name, const struct mb2_info *boot);

#endif
