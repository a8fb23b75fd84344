/* The console command `faults [-v N]` (cells/faults/faults.h). */
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/faults/faults.h"
#include <delos/shell.h>

static const char *kind_of(const struct fault_report *r)
{
	return r->message[0] ? r->message : trap_name(r->vector);
}

static void print_line(const struct faults_entry *e)
{
	uint64_t t = e->r.time_ns;

	shell_printf("%3u %5lu.%06lus %s task %ld '%s' %s: %s at %s:%s+0x%lx; %s; ", e->seq,
		     t / 1000000000u, t / 1000 % 1000000, e->r.cell, e->task, e->task_name,
		     fault_context_name(e->r.context), kind_of(&e->r), e->r.cell, e->r.symbol,
		     e->r.offset, e->action[0] ? e->action : "(pending)");
	if (e->state == FAULT_DONE)
		shell_printf("%s in %lu us\n", e->outcome, e->recover_ns / 1000);
	else
		shell_printf("recovering\n");
}

static void print_regs(const struct trap_frame *f)
{
	shell_printf("RIP %016lx RFLAGS %016lx error %lx\n", f->rip, f->rflags, f->error);
	shell_printf("RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	shell_printf("RSI %016lx RDI %016lx RBP %016lx RSP %016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
	shell_printf("R8  %016lx R9  %016lx R10 %016lx R11 %016lx\n", f->r8, f->r9, f->r10, f->r11);
	shell_printf("R12 %016lx R13 %016lx R14 %016lx R15 %016lx\n", f->r12, f->r13, f->r14, f->r15);
}

static void print_verbose(const struct faults_entry *e)
{
	print_line(e);
	shell_printf("vector %lu, CR2 %016lx, cell %s@%s\n", e->r.vector, e->r.cr2, e->r.cell,
		     e->r.cell_version);
	print_regs(&e->r.regs);
	shell_printf("backtrace:\n  #0  %016lx <%s:%s+0x%lx>\n", e->r.rip, e->r.cell, e->r.symbol,
		     e->r.offset);
	for (uint32_t i = 0; i < e->r.nframes && i < FAULT_FRAMES; i++) {
		char sym[96];

		addr_symbolize(e->r.frames[i], sym, sizeof(sym));
		shell_printf("  #%-2u %016lx %s\n", i + 1, e->r.frames[i], sym);
	}
}

static bool parse_seq(const char *s, uint32_t *seq)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000ull)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*seq = (uint32_t)v;
	return v > 0;
}

void faults_cmd(int argc, char **argv)
{
	struct faults_entry *e = kmalloc(sizeof(*e));
	struct faults_log log;
	uint32_t seq, first;
	int err;

	if (!e || (err = faults_log_get(&log))) {
		shell_printf("faults: the log is unreadable%s\n", e ? "" : " (no memory)");
		kfree(e);
		return;
	}
	if (argc == 3 && strcmp(argv[1], "-v") == 0 && parse_seq(argv[2], &seq)) {
		if ((err = faults_entry_get(seq, e)))
			shell_printf("faults: no fault %u in the log (it holds the last %d of %u)\n", seq,
				     FAULTS_LOG_MAX, log.count);
		else
			print_verbose(e);
	} else if (argc == 1) {
		first = log.count > FAULTS_LOG_MAX ? log.count - FAULTS_LOG_MAX + 1 : 1;
		shell_printf("faults: %u logged%s\n", log.count, log.dropped ? " (some dropped)" : "");
		for (seq = first; seq <= log.count; seq++)
			if (faults_entry_get(seq, e) == 0)
				print_line(e);
	} else {
		shell_printf("usage: faults [-v N]\n");
	}
	kfree(e);
}
