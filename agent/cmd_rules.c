// SPDX-License-Identifier: GPL-2.0
/* `bpfwatch check rules FILE...` and `bpfwatch test rules TEST.yml...`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "rulefile.h"
#include "ruletest.h"

static const char check_rules_usage[] =
"usage: bpfwatch check rules FILE...\n"
"\n"
"Validate Prometheus rule files (the same format Prometheus, Thanos and\n"
"Mimir read): YAML structure, rule names, labels, annotation templates and\n"
"PromQL expressions.  Every error is printed as FILE:LINE:COL: message; the\n"
"exit status is 1 if any file is invalid.\n";

static const char test_rules_usage[] =
"usage: bpfwatch test rules TEST.yml...\n"
"\n"
"Run rule unit tests written for `promtool test rules`: input series in\n"
"promtool's expanding notation, alert_rule_test and promql_expr_test, with\n"
"bpfwatch's own PromQL engine and alert logic.  The exit status is 0 if\n"
"every test passed, 1 otherwise.\n";

int cmd_check_rules(int argc, char **argv)
{
	size_t errlen = 256 * 1024;
	char *err;
	int bad = 0, i;

	if (argc < 3 || !strcmp(argv[2], "-h") || !strcmp(argv[2], "--help")) {
		fputs(check_rules_usage, argc < 3 ? stderr : stdout);
		return argc < 3 ? 2 : 0;
	}
	err = malloc(errlen);
	if (!err) {
		fprintf(stderr, "bpfwatch check rules: %s\n", strerror(ENOMEM));
		return 1;
	}
	for (i = 2; i < argc; i++) {
		const char *pat[1] = { argv[i] };
		struct rule_set *set;

		err[0] = '\0';
		/* one file at a time: each gets its own verdict line */
		set = rulefile__load(pat, 1, ruletest__rulefile_check, NULL, err, errlen);
		if (!set) {
			fputs(err[0] ? err : strerror(errno), stderr);
			if (!err[0] || err[strlen(err) - 1] != '\n')
				fputc('\n', stderr);
			bad++;
			continue;
		}
		printf("%s: %zu group%s, %zu rule%s\n", argv[i], set->ngroups,
		       set->ngroups == 1 ? "" : "s", set->nrules, set->nrules == 1 ? "" : "s");
		rule_set__free(set);
	}
	free(err);
	return bad ? 1 : 0;
}

int cmd_test(int argc, char **argv)
{
	int failed = 0, i, ret;

	if (argc < 2 || (strcmp(argv[1], "rules") && strcmp(argv[1], "-h") &&
			 strcmp(argv[1], "--help"))) {
		if (argc >= 2)
			fprintf(stderr, "bpfwatch test: unknown object '%s'\n", argv[1]);
		fputs(test_rules_usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "rules") || argc < 3 || !strcmp(argv[2], "-h") ||
	    !strcmp(argv[2], "--help")) {
		bool help = argc >= 2 && strcmp(argv[1], "rules");

		help |= argc >= 3;
		fputs(test_rules_usage, help ? stdout : stderr);
		return help ? 0 : 2;
	}
	for (i = 2; i < argc; i++) {
		ret = ruletest__run_file(argv[i], stdout, stderr);
		if (ret < 0) {
			fprintf(stderr, "bpfwatch test rules: %s: %s\n", argv[i], strerror(-ret));
			failed = 1;
		} else if (ret) {
			failed = 1;
		}
	}
	fflush(stdout);
	return failed;
}
