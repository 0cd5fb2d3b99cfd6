/* SPDX-License-Identifier: GPL-2.0 */
/* CLI subcommands; each returns the process exit status. */
#ifndef BPFWATCH_CMDS_H
#define BPFWATCH_CMDS_H

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_check_rules(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_leaks(int argc, char **argv);

#endif
