// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfwatch run`: the daemon.  One epoll loop over a signalfd (SIGINT,
 * SIGTERM, SIGHUP), a timerfd for the collection tick, the function
 * probe's duty-cycle timerfd (overhead budget) and the HTTP server's
 * epoll fd.  Start-up order makes failure clean: config, then the
 * listening socket (a port in use fails before anything is attached), then
 * probes; every exit path detaches every BPF link and program.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmds.h"
#include "collector.h"
#include "config.h"
#include "funcprobe.h"
#include "gcprobe.h"
#include "kfeatures.h"
#include "alertstate.h"
#include "api.h"
#include "http.h"
#include "libbpf_glue.h"
#include "growthpaths.h"
#include "leakdetect.h"
#include "log.h"
#include "notify.h"
#include "memprobe.h"
#include "probes.h"
#include "ruleeng.h"
#include "store.h"
#include "webconfig.h"

static const char run_usage[] =
"usage: bpfwatch run [OPTIONS]\n"
"\n"
"Run the agent: attach the configured probes, collect every\n"
"collection_interval, serve Prometheus metrics over HTTP.\n"
"\n"
"options:\n"
"  -c, --config FILE            YAML configuration (default: the embedded one,\n"
"                               see 'bpfwatch check config --print-default')\n"
"      --web.listen-address ADDR  override web.listen_address, e.g. :9477,\n"
"                               127.0.0.1:9477, [::1]:9477\n"
"      --web.external-url URL   how users reach this agent: the base of\n"
"                               alerts' generatorURL and $externalURL\n"
"      --web.config.file FILE   TLS and basic auth for the HTTP server, in\n"
"                               the exporter-toolkit format node_exporter\n"
"                               reads (tls_server_config, basic_auth_users,\n"
"                               http_server_config.headers)\n"
"      --state-dir DIR          override state_dir\n"
"      --log-level LEVEL        error, warn, info or debug\n"
"      --strict                 exit if any enabled probe cannot attach\n"
"  -h, --help                   this help\n"
"\n"
"Signals: SIGINT/SIGTERM detach everything and exit 0.\n";

struct agent {
	struct config *cfg;
	struct features feat;
	struct store *store;
	struct probe *probes[PROBE__COUNT];
	struct funcprobe *fp;
	struct memprobe *mp;
	struct leakdetect *ld;
	struct growthpaths *grp;
	struct gcprobe *gp;
	struct collector *collector;
	struct web_config *web;		/* --web.config.file, or NULL */
	struct ruleeng *rules;		/* rule_files (possibly none) */
	const char *external_url;	/* --web.external-url, or NULL */
	struct notify *notify;		/* alerting destinations, or NULL */
	struct api api;
	struct http *http;
	int stats_fd, sig_fd, timer_fd, ep_fd;
};

static void agent_free(struct agent *a)
{
	http__free(a->http);
	collector__free(a->collector);
	for (int i = 0; i < PROBE__COUNT; i++)
		probe__free(a->probes[i]);
	funcprobe__free(a->fp);
	leakdetect__free(a->ld);
	growthpaths__free(a->grp);
	memprobe__free(a->mp);
	gcprobe__free(a->gp);
	store__free(a->store);
	if (a->stats_fd >= 0)
		close(a->stats_fd);
	if (a->sig_fd >= 0)
		close(a->sig_fd);
	if (a->timer_fd >= 0)
		close(a->timer_fd);
	if (a->ep_fd >= 0)
		close(a->ep_fd);
	ruleeng__free(a->rules);
	/* After the rules: their last due alerts are spooled, not lost. */
	notify__free(a->notify);
	config__free(a->cfg);
	webconfig__free(a->web);
}

/* SIGHUP and POST /-/reload: the rule files again; on errors the rules
 * that run stay. */
static int reload_rules_err(struct agent *a, const char *why, char *err, size_t len)
{
	int rc = ruleeng__reload(a->rules, err, len);

	if (rc)
		pr_err("rules: %s: reload failed, the previous rules keep running:\n%s",
		       why, err);
	else
		pr_info("rules: %s: reloaded, %zu rules in %zu groups", why,
			ruleeng__nrules(a->rules), ruleeng__ngroups(a->rules));
	return rc;
}

static int reload_rules(struct agent *a, const char *why)
{
	char err[8192];

	return reload_rules_err(a, why, err, sizeof(err));
}

/* The rule engine's due alerts into the spool (sent by notify__run). */
static void send_alerts(void *ctx, const struct alert_notices *due)
{
	struct agent *a = ctx;

	for (size_t i = 0; i < due->n; i++) {
		const struct alert_notice *an = &due->v[i];
		struct notify_alert na = {
			.labels = an->labels, .nlabels = an->nlabels,
			.annotations = an->annotations, .nannotations = an->nannotations,
			.starts_at_ms = an->starts_at_ms, .ends_at_ms = an->ends_at_ms,
			.generator_url = an->generator_url, .resolved = an->resolved,
		};
		int err = notify__enqueue(a->notify, &na);

		if (err)
			pr_warn("alerting: queueing an alert failed: %s", strerror(-err));
	}
}

static int api_reload(void *ctx, char *err, size_t len)
{
	return reload_rules_err(ctx, "POST /-/reload", err, len);
}

static int setup_fds(struct agent *a)
{
	struct itimerspec its = {};
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t ms = a->cfg->collection_interval_ms;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	a->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (a->sig_fd < 0 || a->timer_fd < 0 || a->ep_fd < 0)
		return -errno;
	its.it_interval.tv_sec = (time_t)(ms / 1000);
	its.it_interval.tv_nsec = (long)(ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(a->timer_fd, 0, &its, NULL))
		return -errno;
	ev.data.fd = a->sig_fd;
	if (epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, a->sig_fd, &ev))
		return -errno;
	ev.data.fd = a->timer_fd;
	if (epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, a->timer_fd, &ev))
		return -errno;
	ev.data.fd = http__fd(a->http);
	if (epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	ev.data.fd = funcprobe__timer_fd(a->fp);
	if (ev.data.fd >= 0 && epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	ev.data.fd = a->notify ? notify__fd(a->notify) : -1;
	if (ev.data.fd >= 0 && epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	ev.data.fd = gcprobe__fd(a->gp);
	if (ev.data.fd >= 0 && epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	return 0;
}

/* Returns the exit status once a terminating signal arrives. */
static int loop(struct agent *a)
{
	for (;;) {
		struct epoll_event evs[8];
		int t = http__timeout_ms(a->http), tn = a->notify ? notify__timeout_ms(a->notify) : -1;
		int n = epoll_wait(a->ep_fd, evs, 8, t < 0 ? tn : tn < 0 ? t : t < tn ? t : tn);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("agent: epoll_wait failed: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == a->sig_fd) {
				struct signalfd_siginfo si;

				while (read(a->sig_fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						reload_rules(a, "SIGHUP");
						continue;
					}
					pr_info("agent: %s received, detaching probes and exiting",
						strsignal((int)si.ssi_signo));
					return 0;
				}
			} else if (fd == a->timer_fd) {
				uint64_t expirations;

				if (read(a->timer_fd, &expirations, sizeof(expirations)) > 0) {
					if (expirations > 1)
						pr_debug("agent: %llu ticks missed",
							 (unsigned long long)expirations - 1);
					collector__tick(a->collector);
				}
			} else if (fd == funcprobe__timer_fd(a->fp)) {
				funcprobe__timer(a->fp);
			} else if (fd == gcprobe__fd(a->gp)) {
				gcprobe__poll(a->gp);
			}
		}
		/* MHD's and curl's own timeouts: run them every time round,
		 * it is cheap. */
		http__run(a->http);
		if (a->notify)
			notify__run(a->notify);
	}
}

static int parse_args(int argc, char **argv, struct agent *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "web.listen-address", required_argument, NULL, 'l' },
		{ "web.config.file", required_argument, NULL, 'W' },
		{ "web.external-url", required_argument, NULL, 'U' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "strict", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *path = NULL, *listen = NULL, *state = NULL, *level = NULL;
	const char *web = NULL;
	char err[4096];
	bool strict = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'l': listen = optarg; break;
		case 'W': web = optarg; break;
		case 'U': a->external_url = optarg; break;
		case 's': state = optarg; break;
		case 'L': level = optarg; break;
		case 'S': strict = true; break;
		case 'h': fputs(run_usage, stdout); return 1;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bpfwatch run: unexpected argument '%s'\n%s",
			argv[optind], run_usage);
		return 2;
	}
	a->cfg = path ? config__load_file(path, err, sizeof(err)) :
			config__load_default(err, sizeof(err));
	if (!a->cfg) {
		fprintf(stderr, "%s", err);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		return 2;
	}
	/* Rule files are input like the config: an error stops the start. */
	a->rules = ruleeng__new(a->cfg, err, sizeof(err));
	if (!a->rules) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (a->external_url && strncmp(a->external_url, "http://", 7) &&
	    strncmp(a->external_url, "https://", 8)) {
		fprintf(stderr, "bpfwatch run: --web.external-url: expected an http:// or "
			"https:// URL, got '%s'\n", a->external_url);
		return 2;
	}
	if (!a->external_url)
		a->external_url = a->cfg->notify.external_url;
	ruleeng__set_external_url(a->rules, a->external_url);
	if (web) {
		a->web = webconfig__load(web, err, sizeof(err));
		if (!a->web) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	}
	if (listen) {
		free(a->cfg->listen_address);
		a->cfg->listen_address = strdup(listen);
	}
	if (state) {
		free(a->cfg->state_dir);
		a->cfg->state_dir = strdup(state);
	}
	if ((listen && !a->cfg->listen_address) || (state && !a->cfg->state_dir)) {
		fprintf(stderr, "bpfwatch run: out of memory\n");
		return 2;
	}
	if (strict)
		a->cfg->strict = true;
	if (level && log_parse_level(level, &a->cfg->log_level)) {
		fprintf(stderr, "bpfwatch run: --log-level: unknown level '%s' "
			"(error, warn, info, debug)\n", level);
		return 2;
	}
	return 0;
}

static int attach_probes(struct agent *a)
{
	int failed = 0, err;

	for (int i = 0; i < PROBE__COUNT; i++) {
		struct probe *p = probe__new((enum probe_id)i, &a->cfg->probes[i], &a->feat);

		if (!p)
			return -ENOMEM;
		a->probes[i] = p;
		if (probe__attached(p)) {
			pr_info("probe %s: attached (%s)", probe__name(p),
				probe__attach_type(p));
		} else if (probe__enabled(p)) {
			pr_warn("probe %s: not attached: %s", probe__name(p),
				probe__reason(p));
			failed++;
		} else {
			pr_info("probe %s: disabled in the configuration", probe__name(p));
		}
	}
	a->mp = memprobe__new(&a->cfg->memory, &a->feat);
	if (!a->mp)
		return -ENOMEM;
	if (memprobe__attached(a->mp)) {
		pr_info("probe memory: attached (%s)", memprobe__attach_type(a->mp));
	} else if (memprobe__enabled(a->mp)) {
		pr_warn("probe memory: not attached: %s", memprobe__reason(a->mp));
		failed++;
	} else {
		pr_info("probe memory: disabled in the configuration");
	}
	if (memprobe__enabled(a->mp) && a->cfg->memory.leak.enabled) {
		a->ld = leakdetect__new(&a->cfg->memory, a->cfg->collection_interval_ms);
		if (!a->ld)
			return -ENOMEM;
	}
	if (memprobe__enabled(a->mp))
		collector__set_memprobe(a->collector, a->mp, a->ld);
	if (memprobe__enabled(a->mp) && a->cfg->memory.growth.enabled) {
		a->grp = growthpaths__new(&a->cfg->memory, &a->feat,
					  a->cfg->memory.leak.window_ms,
					  memprobe__targets_fd(a->mp));
		if (!a->grp)
			return -ENOMEM;
		if (growthpaths__attached(a->grp)) {
			pr_info("probe memory growth paths: attached (%s)",
				growthpaths__attach_type(a->grp));
			collector__set_growthpaths(a->collector, a->grp);
		} else {
			pr_warn("probe memory growth paths: not attached: %s",
				growthpaths__reason(a->grp));
			failed++;
		}
	}
	a->gp = gcprobe__new(&a->cfg->gc, &a->feat);
	if (!a->gp)
		return -ENOMEM;
	collector__set_gcprobe(a->collector, a->gp);
	if (gcprobe__attached(a->gp)) {
		pr_info("probe gc: attached (runtimes found as processes start)");
	} else if (gcprobe__enabled(a->gp)) {
		pr_warn("probe gc: not attached: %s", gcprobe__reason(a->gp));
		failed++;
	} else {
		pr_info("probe gc: disabled in the configuration");
	}
	if (!a->cfg->nfunctions)
		return failed;
	a->fp = funcprobe__new(a->cfg->functions, a->cfg->nfunctions, &a->feat);
	if (!a->fp) {
		pr_err("functions: cannot load the function probe: %s", strerror(errno));
		return failed + (int)a->cfg->nfunctions;
	}
	for (size_t i = 0; i < a->cfg->nfunctions; i++) {
		const struct func_cfg *fn = &a->cfg->functions[i];
		struct funcprobe_status st;

		funcprobe__status(a->fp, i, &st);
		if (st.attached) {
			pr_info("function %s (%s:%u:%u): attached (%s%s%s)", st.function,
				a->cfg->source, fn->line, fn->col, st.attach_type,
				st.binary[0] ? " in " : "", st.binary);
		} else {
			pr_warn("function %s (%s:%u:%u): not attached: %s", st.function,
				a->cfg->source, fn->line, fn->col, st.reason);
			failed++;
		}
	}
	collector__set_funcprobe(a->collector, a->fp);
	err = funcprobe__budget_start(a->fp, a->cfg->overhead_budget);
	if (err)
		pr_warn("functions: overhead budget not enforced: %s", strerror(-err));
	return failed;
}

/*
 * Ticks of history: global.retention, or more when a rule reads further
 * back (its largest range, plus the 5 min lookback of instant selectors),
 * so that rules compute what Prometheus would.
 */
static uint32_t store_capacity(const struct config *cfg, const struct ruleeng *re)
{
	uint64_t keep = cfg->retention_ms, need = (uint64_t)ruleeng__max_lookback_ms(re);
	uint64_t n;

	if (need > keep) {
		pr_info("rules: keeping %llus of history (global.retention is %llus) "
			"for rules that read that far back",
			(unsigned long long)(need / 1000), (unsigned long long)(keep / 1000));
		keep = need;
	}
	n = keep / cfg->collection_interval_ms + 1;

	return n < 2 ? 2 : n > 100000 ? 100000 : (uint32_t)n;
}

int cmd_run(int argc, char **argv)
{
	struct agent a = { .stats_fd = -1, .sig_fd = -1, .timer_fd = -1, .ep_fd = -1 };
	char why[512];
	int rc, n;

	rc = parse_args(argc, argv, &a);
	if (rc) {
		agent_free(&a);
		return rc == 1 ? 0 : rc;
	}
	log_set_level(a.cfg->log_level);
	libbpf_glue__init();
	pr_info("bpfwatch %s starting (config %s)", BPFWATCH_VERSION, a.cfg->source);

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("agent: kernel BTF missing (/sys/kernel/btf/vmlinux: %s); "
		       "bpfwatch needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
		       strerror(errno));
		rc = 1;
		goto out;
	}
	if (mkdir(a.cfg->state_dir, 0750) && errno != EEXIST)
		pr_warn("agent: cannot create state_dir %s: %s", a.cfg->state_dir,
			strerror(errno));

	if (a.cfg->notify.nams + a.cfg->notify.nhooks) {
		char spool[PATH_MAX];

		snprintf(spool, sizeof(spool), "%s/spool", a.cfg->state_dir);
		a.notify = notify__new(&a.cfg->notify, spool, why, sizeof(why));
		if (!a.notify) {
			pr_err("alerting: %s", why);
			rc = 1;
			goto out;
		}
		ruleeng__set_sink(a.rules, send_alerts, &a);
		pr_info("alerting: %zu Alertmanager%s, %zu webhook%s; spool in %s",
			a.cfg->notify.nams, a.cfg->notify.nams == 1 ? "" : "s",
			a.cfg->notify.nhooks, a.cfg->notify.nhooks == 1 ? "" : "s", spool);
	} else if (ruleeng__nrules(a.rules)) {
		pr_info("alerting: no alerting.alertmanagers nor webhooks: alerts are "
			"evaluated (see /api/v1/alerts) but not sent");
	}
	a.store = store__new(store_capacity(a.cfg, a.rules), a.cfg->max_series);
	a.collector = a.store ? collector__new(a.cfg, &a.feat, a.probes, a.store) : NULL;
	if (!a.collector) {
		pr_err("agent: cannot allocate the series store: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	collector__set_ruleeng(a.collector, a.rules);
	collector__set_notify(a.collector, a.notify);
	a.api = (struct api){ .rules = a.rules, .store = a.store,
			      .reload = api_reload, .reload_ctx = &a };
	if (ruleeng__nrules(a.rules))
		pr_info("rules: %zu rules in %zu groups, evaluated every %llus unless "
			"their group says otherwise", ruleeng__nrules(a.rules),
			ruleeng__ngroups(a.rules),
			(unsigned long long)(a.cfg->evaluation_interval_ms / 1000));
	/* Bind before attaching anything: a port in use fails cleanly. */
	a.http = http__new(a.cfg->listen_address, a.collector, a.web, why, sizeof(why));
	if (!a.http) {
		pr_err("web: %s", why);
		rc = 1;
		goto out;
	}
	http__set_api(a.http, &a.api);

	if (geteuid() != 0)
		pr_warn("agent: not running as root: loading BPF programs needs "
			"CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN");
	if (tracefs__ensure(why, sizeof(why)))
		pr_warn("agent: %s; tracepoint attach types will be unavailable", why);
	features__probe(&a.feat);
	for (int i = 0; i < FEAT__COUNT; i++) {
		if (!a.feat.ok[i])
			pr_info("kernel: %s unavailable: %s", feature__name((enum feature)i),
				a.feat.reason[i]);
	}
	if (a.feat.ok[FEAT_BPF_STATS])
		a.stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	n = attach_probes(&a);
	if (n < 0) {
		pr_err("agent: out of memory attaching probes");
		rc = 1;
		goto out;
	}
	if (n > 0 && a.cfg->strict) {
		pr_err("agent: %d probe(s) failed to attach and strict mode is on", n);
		rc = 1;
		goto out;
	}
	rc = setup_fds(&a);
	if (rc) {
		pr_err("agent: setting up the event loop failed: %s", strerror(-rc));
		rc = 1;
		goto out;
	}
	collector__tick(a.collector);
	if (a.cfg->listen_address[0] == ':')
		pr_info("web: serving metrics on http://localhost:%u/metrics "
			"(all addresses)", http__port(a.http));
	else
		pr_info("web: serving metrics on http://%s/metrics",
			a.cfg->listen_address);
	rc = loop(&a);
out:
	agent_free(&a);
	pr_info("agent: stopped");
	return rc;
}
