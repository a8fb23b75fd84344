/* The kernel command line and leaving QEMU. */
#ifndef DELOS_BOOT_H
#define DELOS_BOOT_H

#include <stdbool.h>
#include <stddef.h>

/* Status a panic leaves QEMU with when the command line says panic=exit. */
#define PANIC_EXIT_CODE 125

const char *boot_cmdline(void);
/* Copies the value of `key=value` from the command line into buf; false if absent. */
bool cmdline_get(const char *key, char *buf, size_t size);
/* True if the command line holds key=value exactly. */
bool cmdline_has(const char *key, const char *value);

/*
 * Ends QEMU through its isa-debug-exit device (port 0xf4), which exits with
 * status 2*(code+1)+1 (code+1 so that no guest status looks like QEMU's own
 * failure status 1); build/qemu.sh and the test harness turn that back into
 * `code`. code must be at most 126 to fit an exit status. Returns if there is no such device (real hardware).
 */
void qemu_exit(unsigned code);

#endif
