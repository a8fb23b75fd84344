/*
 * celltool prelink: the loader's own prelinking (loader/prelink_write.c) of
 * one cell object, written to a new file.
 */
#include <stdio.h>
#include <stdlib.h>

#include <delos/loader.h>

#include "celltool.h"
#include "loader/host_env.h"
#include "loader/prelink.h"

int ct_prelink(const char *in, const void *obj, size_t size, const char *out, bool stats,
	       int (*write_file)(const char *, const void *, size_t))
{
	struct host_env env;
	struct loader_config cfg = { .env = &env.env };
	struct loader_prelink_stats st;
	struct loader *ld;
	void *pre;
	size_t pre_size;
	int bad = 1;

	host_env_buffer(&env, 0);
	if (loader_create(&cfg, &ld)) {
		fprintf(stderr, "celltool: %s: cannot create a loader\n", in);
		host_env_fini(&env);
		return 1;
	}
	if (loader_prelink(ld, in, obj, size, &pre, &pre_size, &st)) {
		fprintf(stderr, "celltool: %s\n", loader_error(ld));
	} else {
		bad = write_file(out, pre, pre_size) != 0;
		if (!bad && stats)
			printf("%s: %u relocations: %u resolved, %u left as fields, %u kept\n",
			       in, st.relocs, st.resolved, st.fields, st.kept);
		loader_prelink_free(ld, pre);
	}
	loader_destroy(ld);
	host_env_fini(&env);
	return bad;
}
