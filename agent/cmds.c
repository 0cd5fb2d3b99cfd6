// SPDX-License-Identifier: GPL-2.0
/* `bpfwatch check ...` and `bpfwatch features`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "config.h"
#include "kfeatures.h"
#include "libbpf_glue.h"
#include "log.h"
#include "usdt_notes.h"
#include "webconfig.h"

static const char check_usage[] =
"usage: bpfwatch check config FILE...\n"
"       bpfwatch check config --print-default\n"
"       bpfwatch check web-config FILE...\n"
"       bpfwatch check rules FILE...\n"
"\n"
"Validate configuration files (config: the agent's --config; web-config:\n"
"--web.config.file, TLS and basic auth) without starting anything: every\n"
"error is printed as FILE:LINE:COL: message, and the exit status is 1 if\n"
"any file is invalid.  --print-default prints the embedded default\n"
"configuration, a commented starting point for your own.\n";

static void print_err(const char *err)
{
	fputs(err, stderr);
	if (err[0] && err[strlen(err) - 1] != '\n')
		fputc('\n', stderr);
}

static int check_web_configs(int argc, char **argv)
{
	int bad = 0;

	for (int i = 2; i < argc; i++) {
		char err[8192];
		struct web_config *wc = webconfig__load(argv[i], err, sizeof(err));

		if (!wc) {
			print_err(err);
			bad++;
			continue;
		}
		printf("%s: ok (%s, %zu basic auth user%s)\n", argv[i],
		       webconfig__tls(wc) ? "TLS" : "plain HTTP", wc->nusers,
		       wc->nusers == 1 ? "" : "s");
		webconfig__free(wc);
	}
	return bad ? 1 : 0;
}

int cmd_check(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(check_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "web-config") == 0 && argc > 2)
		return check_web_configs(argc, argv);
	if (strcmp(argv[1], "rules") == 0)
		return cmd_check_rules(argc, argv);
	if (strcmp(argv[1], "config") != 0) {
		fprintf(stderr, "bpfwatch check: unknown object '%s'\n%s", argv[1],
			check_usage);
		return 2;
	}
	if (argc == 3 && strcmp(argv[2], "--print-default") == 0) {
		fputs(bw_default_config, stdout);
		return 0;
	}
	if (argc < 3) {
		fputs(check_usage, stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		char err[8192];
		struct config *cfg = config__load_file(argv[i], err, sizeof(err));

		if (!cfg) {
			print_err(err);
			bad++;
			continue;
		}
		printf("%s: ok\n", argv[i]);
		config__free(cfg);
	}
	return bad ? 1 : 0;
}

int cmd_features(int argc, char **argv)
{
	struct features f;
	char why[256];
	int tracefs;

	(void)argv;
	if (argc > 1) {
		printf("usage: bpfwatch features\n\n"
		       "Try every BPF attach type bpfwatch can use on this kernel (load,\n"
		       "attach, detach a trivial program) and say which work and why the\n"
		       "others do not.  Needs root (CAP_BPF and CAP_PERFMON).\n");
		return 0;
	}
	log_set_level(LOG_WARN);
	libbpf_glue__init();
	tracefs = tracefs__ensure(why, sizeof(why));
	features__probe(&f);
	printf("%-12s %-10s %s\n", "FEATURE", "STATUS", "DETAIL");
	for (int i = 0; i < FEAT__COUNT; i++)
		printf("%-12s %-10s %s\n", feature__name((enum feature)i),
		       f.ok[i] ? "available" : "missing", f.ok[i] ? "" : f.reason[i]);
	if (tracefs)
		printf("\nnote: %s\n", why);
	if (geteuid() != 0)
		printf("\nnote: not running as root; most features need CAP_BPF, "
		       "CAP_PERFMON and CAP_SYS_ADMIN\n");
	return 0;
}

static const char list_usdt_usage[] =
"usage: bpfwatch list usdt BINARY\n"
"\n"
"List the USDT probes compiled into an executable or library (its\n"
".note.stapsdt notes): provider:name, address, semaphore and arguments.\n"
"Use them in probes.functions as usdt: PROVIDER:NAME.\n";

static int print_note(const struct usdt_note *n, void *ctx)
{
	int *count = ctx;

	if (!*count)
		printf("PROBE\tADDRESS\tSEMAPHORE\tARGUMENTS\n");
	printf("%s:%s\t0x%llx\t%s\t%s\n", n->provider, n->name,
	       (unsigned long long)n->pc,
	       n->semaphore ? "semaphore" : "-", n->args[0] ? n->args : "-");
	(*count)++;
	return 0;
}

int cmd_list(int argc, char **argv)
{
	int count = 0, err;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(list_usdt_usage, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "usdt") != 0) {
		fputs(list_usdt_usage, stderr);
		return 2;
	}
	err = usdt_notes__foreach(argv[2], print_note, &count);
	if (err) {
		fprintf(stderr, "bpfwatch list usdt: %s: %s\n", argv[2],
			err == -ENOEXEC ? "not an ELF file" : strerror(-err));
		return 1;
	}
	if (!count)
		fprintf(stderr, "bpfwatch list usdt: %s has no USDT probes\n", argv[2]);
	return 0;
}
