/*
 * A minimal fault injector for tests (grant test_poke): `inject CELL SYM ud2`
 * writes a ud2 over the first instruction of CELL:SYM through text_poke, so
 * the next call of it raises #UD in CELL's own code; `loop` writes a jump to
 * itself there instead (a hang with interrupts on); `recurse` a call of the
 * function itself (a recursion that runs its stack into the guard page). A
 * reload of CELL (a fresh copy of its pristine object) repairs each.
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
	} else if (strcmp(argv[3], "recurse") == 0) {
		code = recurse;
		len = sizeof(recurse);
	} else {
		shell_printf("inject: unknown kind '%s'; usage: inject CELL SYM ud2|loop|recurse\n",
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

int cell_init(void)
{
	return shell_register("inject", "inject", "inject_cmd", "CELL SYM KIND",
			      "test only: write a ud2, jmp . or call . at the start of CELL:SYM");
}

void cell_exit(void)
{
	shell_unregister("inject");
}
