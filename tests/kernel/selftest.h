/*
 * The test build's tests, chosen by `test=NAME` on the kernel command line.
 * Linked into nano_core-test.elf only: in nano_core.elf selftest_run is a
 * weak reference that stays 0.
 */
#ifndef DELOS_SELFTEST_H
#define DELOS_SELFTEST_H

#include <delos/mb2.h>

/*
 * Runs the named test, prints "selftest NAME: PASS" or "...: FAIL (why)",
 * and ends QEMU with status 0 on success and 1 on failure (2: unknown test).
 */
__attribute__((weak)) _Noreturn void selftest_run(const char *name, const struct mb2_info *boot);

#endif
