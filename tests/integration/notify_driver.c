// SPDX-License-Identifier: GPL-2.0
/*
 * notify_driver: the alert delivery dispatcher on its own, for the
 * end-to-end test against a real Alertmanager and webhook receiver.
 *
 *   notify_driver -c CONFIG -s SPOOL_DIR [-r] [-w SECONDS] [-m METRICS] [ALERT...]
 *
 * ALERT is "name=value,name=value[;annotation=value,...]".  The alerts
 * are enqueued (firing with endsAt one hour ahead, or with -r resolved
 * with endsAt now) and committed, then "spooled N" is printed.  The
 * driver then runs its own epoll loop over notify__fd(), as the agent's
 * loop does, until SIGTERM/SIGINT, or with -w until nothing is pending
 * (exit 0) or SECONDS pass (exit 2).  -m writes the self-metrics on exit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

#define MAX_PAIRS 32

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "a=b,c=d" into @l (pointing into @s, which is modified). */
static int parse_pairs(char *s, struct label *l, size_t *n)
{
	char *save = NULL;

	*n = 0;
	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok || *n == MAX_PAIRS)
			return -EINVAL;
		*eq = '\0';
		l[*n].name = tok;
		l[*n].value = eq + 1;
		(*n)++;
	}
	return 0;
}

static void write_metrics(const struct notify *n, const char *path)
{
	struct strbuf b;
	FILE *f;

	strbuf__init(&b);
	notify__expose(n, &b);
	f = fopen(path, "w");
	if (!f || b.oom || fwrite(b.buf, 1, b.len, f) != b.len)
		fprintf(stderr, "notify_driver: cannot write %s\n", path);
	if (f)
		fclose(f);
	strbuf__free(&b);
}

int main(int argc, char **argv)
{
	const char *cfg_path = NULL, *spool = NULL, *metrics = NULL;
	struct epoll_event ev = { .events = EPOLLIN };
	double wait_s = -1, t0;
	struct notify_cfg cfg;
	struct notify *n;
	bool resolved = false;
	char err[4096];
	int c, ep, sfd, rc = 0, queued = 0;
	sigset_t mask;

	while ((c = getopt(argc, argv, "c:s:rw:m:")) != -1) {
		switch (c) {
		case 'c': cfg_path = optarg; break;
		case 's': spool = optarg; break;
		case 'r': resolved = true; break;
		case 'w': wait_s = atof(optarg); break;
		case 'm': metrics = optarg; break;
		default:
			fprintf(stderr, "usage: %s -c CONFIG -s SPOOL [-r] [-w SECONDS] "
				"[-m METRICS] [ALERT...]\n", argv[0]);
			return 64;
		}
	}
	if (!cfg_path || !spool) {
		fprintf(stderr, "notify_driver: -c and -s are required\n");
		return 64;
	}
	log_set_level(LOG_INFO);
	notify_cfg__init(&cfg);
	if (notify_cfg__load_file(&cfg, cfg_path, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		notify_cfg__free(&cfg);
		return 2;
	}
	n = notify__new(&cfg, spool, err, sizeof(err));
	if (!n) {
		fprintf(stderr, "notify_driver: %s\n", err);
		notify_cfg__free(&cfg);
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		struct label labels[MAX_PAIRS], ann[MAX_PAIRS];
		struct notify_alert a = { .labels = labels, .annotations = ann };
		char *spec = strdup(argv[i]), *semi;
		int64_t now = now_ms();

		if (!spec)
			return 1;
		semi = strchr(spec, ';');
		if (semi)
			*semi++ = '\0';
		if (parse_pairs(spec, labels, &a.nlabels) ||
		    (semi && parse_pairs(semi, ann, &a.nannotations))) {
			fprintf(stderr, "notify_driver: bad alert '%s'\n", argv[i]);
			free(spec);
			rc = 64;
			goto out;
		}
		a.resolved = resolved;
		a.starts_at_ms = resolved ? now - 60000 : now;
		a.ends_at_ms = resolved ? now : now + 3600 * 1000;
		a.generator_url = "http://bpfwatch.test/graph";
		if (notify__enqueue(n, &a)) {
			fprintf(stderr, "notify_driver: enqueue '%s' failed\n", argv[i]);
			rc = 1;
		}
		queued++;
		free(spec);
	}
	if (notify__commit(n)) {
		rc = 1;
		goto out;
	}
	printf("spooled %d, pending %zu\n", queued, notify__pending(n));
	fflush(stdout);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = notify__fd(n);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	t0 = mono_s();
	for (;;) {
		struct epoll_event evs[4];
		int timeout = notify__timeout_ms(n), cnt;

		if (wait_s >= 0) {
			if (!notify__pending(n)) {
				printf("delivered after %.3f s\n", mono_s() - t0);
				break;
			}
			if (mono_s() - t0 > wait_s) {
				printf("timeout: %zu still pending\n", notify__pending(n));
				rc = 2;
				break;
			}
			if (timeout < 0 || timeout > 200)
				timeout = 200;
		}
		cnt = epoll_wait(ep, evs, 4, timeout);
		if (cnt < 0 && errno != EINTR)
			break;
		for (int i = 0; i < cnt; i++)
			if (evs[i].data.fd == sfd)
				goto done;
		notify__run(n);
	}
done:
	close(ep);
	close(sfd);
out:
	if (metrics)
		write_metrics(n, metrics);
	notify__free(n);
	notify_cfg__free(&cfg);
	return rc;
}
