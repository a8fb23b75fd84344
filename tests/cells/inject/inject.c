/*
 * A minimal fault injector for tests (grant test_poke): `inject CELL SYM ud2`
 * writes a ud2 over the first instruction of CELL:SYM through text_poke, so
 * the next call of it raises #UD in CELL's own code; `loop` writes a jump to
 * itself there instead (a hang with interrupts on), `cliloop` a cli and then
 * that jump (a hang with interrupts off, for the NMI watchdog), `recurse` a
 * call of the function itself (a recursion that runs its stack into the
 * guard page). A reload of CELL (a fresh copy of its pristine object) repairs
 * each. It also lends swifi@1 its poke into nano_core's text
 * (inject_text_poke), CI's known-bad case.
 */
#include <delos/cell.h>
#include <delos/cellref.h>
#include <delos/log.h>
#include <delos/string.h>
#include <delos/shell.h>

int text_poke(void *dst, const void *src, size_t len);

void inject_cmd(int argc, char **argv)
{
	static const uint8_t ud2[2] = { 0x0f, 0x0b }, loop[2] = { 0xeb, 0xfe };	/* jmp . */
	static const uint8_t cliloop[3] = { 0xfa, 0xeb, 0xfe };			/* cli; jmp . */
	static const uint8_t recurse[5] = { 0xe8, 0xfb, 0xff, 0xff, 0xff };	/* call . */
	const uint8_t *code;
	size_t len = 2;
	struct cellref r;
	uint64_t at;

	(void)argc;
	if (strcmp(argv[3], "ud2") == 0) {
		code = ud2;
	} else if (strcmp(argv[3], "loop") == 0) {
		code = loop;
	} else if (strcmp(argv[3], "cliloop") == 0) {
		code = cliloop;
		len = sizeof(cliloop);
	} else if (strcmp(argv[3], "recurse") == 0) {
		code = recurse;
		len = sizeof(recurse);
	} else {
		shell_printf("inject: unknown kind '%s'; usage: inject CELL SYM ud2|loop|cliloop|recurse\n",
			     argv[3]);
		return;
	}
	if (!cellref_make(&r, argv[1], argv[2]) || !(at = cellref_resolve(&r))) {
		shell_printf("inject: %s:%s does not resolve\n", argv[1], argv[2]);
		return;
	}
	if (text_poke((void *)at, code, len))
		shell_printf("inject: text_poke refused %s:%s\n", argv[1], argv[2]);
	else
		shell_printf("inject: %s at %s:%s (%016lx)\n", argv[3], argv[1], argv[2], at);
}

/*
 * The test grant's poke, for swifi's `fault inject nano_core ...` (guarded:
 * only cells granted test_poke may link it; swifi reaches it by cellref,
 * so only while this test cell is loaded). 0 or -1, as text_poke.
 */
int inject_text_poke(void *dst, const void *src, uint64_t len)
{
	return text_poke(dst, src, (size_t)len);
}

int cell_init(void)
{
	return shell_register("inject", "inject", "inject_cmd", "CELL SYM KIND",
			      "test only: put ud2, loop, cliloop or recurse at CELL:SYM");
}

void cell_exit(void)
{
	shell_unregister("inject");
}
