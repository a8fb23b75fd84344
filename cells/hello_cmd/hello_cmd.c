/*
 * hello_cmd (cell hello_cmd@1): how a cell adds a console command. cell_init
 * registers `greet [NAME]` with the shell, served by hello_cmd_greet; the
 * shell finds it by name each time, and cell_exit takes it away again.
 */
#include <delos/cell.h>
#include <delos/log.h>
#include <delos/shell.h>

void hello_cmd_greet(int argc, char **argv)
{
	shell_printf("hello, %s!\n", argc > 1 ? argv[1] : "world");
}

int cell_init(void)
{
	int err = shell_register("greet", "hello_cmd", "hello_cmd_greet", "[NAME]",
				 "say hello (a command of the hello_cmd cell)");

	if (err)
		klog(LOG_ERR, "hello_cmd: cannot register greet: %s", shell_strerror(err));
	return err;
}

void cell_exit(void)
{
	shell_unregister("greet");
}
