// SPDX-License-Identifier: GPL-2.0
/* bpfwatch: eBPF observability agent.  Subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

static const char usage[] =
"usage: bpfwatch [COMMAND] [ARGS]\n"
"\n"
"An eBPF observability agent: latency histograms aggregated in the kernel,\n"
"exported to Prometheus.\n"
"\n"
"commands:\n"
"  run [--config FILE]        run the agent (the default command); metrics on\n"
"                             http://localhost:9477/metrics\n"
"  check config FILE...       validate configuration files and exit\n"
"  check web-config FILE...   validate --web.config.file files (TLS, auth)\n"
"  check rules FILE...        validate Prometheus rule files\n"
"  test rules TEST.yml...     run rule unit tests (promtool test rules format)\n"
"  features                   show which BPF attach types this kernel offers\n"
"  list usdt BINARY           list the USDT probes of an executable or library\n"
"  trace func BINARY:SYMBOL   print one function's latency histogram (--pid,\n"
"                             --duration)\n"
"  leaks --pid N              which call stacks hold the memory a process\n"
"                             has not freed (allocator uprobes: costly,\n"
"                             for a limited time)\n"
"  help                       this help\n"
"  version                    print the version\n"
"\n"
"'bpfwatch COMMAND --help' describes a command.  Needs root (CAP_BPF,\n"
"CAP_PERFMON, CAP_SYS_ADMIN) and a kernel with BTF.\n";

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs(usage, stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("bpfwatch %s\n", BPFWATCH_VERSION);
	return 0;
}

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "run", cmd_run },
	{ "check", cmd_check },
	{ "test", cmd_test },
	{ "features", cmd_features },
	{ "list", cmd_list },
	{ "trace", cmd_trace },
	{ "leaks", cmd_leaks },
	{ "help", cmd_help },
	{ "--help", cmd_help },
	{ "-h", cmd_help },
	{ "version", cmd_version },
	{ "--version", cmd_version },
	{ "-V", cmd_version },
};

int main(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		/* Plain `bpfwatch` or `bpfwatch --config x` runs the daemon,
		 * except for the global --help / --version. */
		for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(argv[1], cmds[i].name) == 0)
				return cmds[i].fn(argc - 1, argv + 1);
		argv[0] = "run";
		return cmd_run(argc, argv);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "bpfwatch: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
