// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "collector.h"
#include "expo.h"
#include "http.h"
#include "api.h"
#include "log.h"
#include "webconfig.h"

struct http {
	struct MHD_Daemon *d;
	struct collector *collector;
	struct web_config *wc;		/* TLS, basic auth, headers; or NULL */
	struct api *api;		/* /api/v1/..., /-/reload; or NULL */
	int listen_fd;
	int epoll_fd;
	uint16_t port;
};

static const char index_page[] =
	"<html><head><title>bpfwatch</title></head><body>\n"
	"<h1>bpfwatch</h1>\n"
	"<p><a href=\"/metrics\">Metrics</a></p>\n"
	"<p><a href=\"/-/healthy\">Health</a> &middot; "
	"<a href=\"/-/ready\">Readiness</a></p>\n"
	"</body></html>\n";

/* The response with every header of the web config's http_server_config. */
static struct MHD_Response *response(const struct http *h, const char *type,
				     const void *body, size_t len)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	for (size_t i = 0; h->wc && i < h->wc->nheaders; i++)
		MHD_add_response_header(r, h->wc->headers[i].name,
					h->wc->headers[i].value);
	return r;
}

static enum MHD_Result reply(const struct http *h, struct MHD_Connection *conn,
			     unsigned int status, const char *type,
			     const void *body, size_t len, const char *encoding)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = response(h, type, body, len);
	if (!r)
		return MHD_NO;
	if (encoding)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, encoding);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(const struct http *h, struct MHD_Connection *conn,
			    unsigned int status, const char *msg)
{
	return reply(h, conn, status, "text/plain; charset=utf-8", msg, strlen(msg),
		     NULL);
}

static enum MHD_Result metrics(struct http *h, struct MHD_Connection *conn)
{
	const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_ACCEPT_ENCODING);
	const void *body;
	size_t len;

	if (ae && expo__accepts_gzip(ae)) {
		body = collector__metrics_gzip(h->collector, &len);
		if (body)
			return reply(h, conn, MHD_HTTP_OK, EXPO_CONTENT_TYPE, body, len,
				     "gzip");
	}
	body = collector__metrics(h->collector, &len);
	if (!body)
		return text(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "no collection has completed yet\n");
	return reply(h, conn, MHD_HTTP_OK, EXPO_CONTENT_TYPE, body, len, NULL);
}

/* Basic auth against the web config's users (bcrypt, cached). */
static bool authorized(struct http *h, struct MHD_Connection *conn)
{
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(conn, &pass);
	bool ok = webconfig__check_user(h->wc, user, pass);

	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

static enum MHD_Result unauthorized(const struct http *h,
				    struct MHD_Connection *conn)
{
	static const char msg[] = "Unauthorized\n";
	struct MHD_Response *r = response(h, "text/plain; charset=utf-8", msg,
					  sizeof(msg) - 1);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	ret = MHD_queue_basic_auth_fail_response(conn, "bpfwatch", r);
	MHD_destroy_response(r);
	return ret;
}

#define MAX_BODY	(64 * 1024)	/* POST /api/v1/query form bodies */
#define MAX_ARGS	8

/* A request in progress: its body (API POSTs) and decoded form values. */
struct req {
	struct strbuf body;
	bool too_large;
	struct MHD_Connection *conn;
	char *args[MAX_ARGS];
	size_t nargs;
};

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Value of @name in an application/x-www-form-urlencoded body, decoded
 * into a new string; NULL when absent. */
static char *form_value(const char *body, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;

		if ((size_t)(e - p) > nlen && !memcmp(p, name, nlen) && p[nlen] == '=') {
			char *out = malloc((size_t)(e - p)), *o = out;

			if (!out)
				return NULL;
			for (const char *c = p + nlen + 1; c < e; c++) {
				if (*c == '+') {
					*o++ = ' ';
				} else if (*c == '%' && e - c >= 3 && hexval(c[1]) >= 0 &&
					   hexval(c[2]) >= 0) {
					*o++ = (char)(hexval(c[1]) * 16 + hexval(c[2]));
					c += 2;
				} else {
					*o++ = *c;
				}
			}
			*o = '\0';
			return out;
		}
		p = e + 1;
	}
	return NULL;
}

static const char *req_arg(void *ctx, const char *name)
{
	struct req *r = ctx;
	const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
	const char *ct;
	char *d;

	if (v || !r->body.len || r->nargs == MAX_ARGS)
		return v;
	ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33))
		return NULL;
	d = form_value(r->body.buf, r->body.len, name);
	if (d)
		r->args[r->nargs++] = d;
	return d;
}

static void req_free(struct req *r)
{
	if (!r)
		return;
	strbuf__free(&r->body);
	for (size_t i = 0; i < r->nargs; i++)
		free(r->args[i]);
	free(r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	req_free(*con_cls);
	*con_cls = NULL;
}

static enum MHD_Result api_reply(struct http *h, struct MHD_Connection *conn,
				 const char *url, const char *method, struct req *r)
{
	struct strbuf out;
	const char *ctype = "application/json";
	unsigned int status;
	enum MHD_Result ret;

	if (!h->api)
		return text(h, conn, MHD_HTTP_NOT_FOUND, "not found\n");
	strbuf__init(&out);
	status = api__handle(h->api, method, url, req_arg, r, &out, &ctype);
	if (out.oom)
		ret = text(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	else
		ret = reply(h, conn, status, ctype, out.buf ? out.buf : "", out.len, NULL);
	strbuf__free(&out);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct req *r = *con_cls;

	(void)version;
	if (!r) {
		/* Headers only so far: authenticate before reading a body. */
		if (webconfig__auth(h->wc) && !authorized(h, conn))
			return unauthorized(h, conn);
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		strbuf__init(&r->body);
		r->conn = conn;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->body.len + *upload_size > MAX_BODY)
			r->too_large = true;
		else
			strbuf__append(&r->body, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_large || r->body.oom)
		return text(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
	if (api__owns(url))
		return api_reply(h, conn, url, method, r);
	if (r->body.len)
		return text(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, "no body expected\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return text(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, "/metrics") == 0)
		return metrics(h, conn);
	if (strcmp(url, "/-/healthy") == 0)
		return text(h, conn, MHD_HTTP_OK, "bpfwatch is Healthy.\n");
	if (strcmp(url, "/-/ready") == 0) {
		if (collector__ticks(h->collector))
			return text(h, conn, MHD_HTTP_OK, "bpfwatch is Ready.\n");
		return text(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "bpfwatch is not ready: no collection yet.\n");
	}
	if (strcmp(url, "/") == 0)
		return reply(h, conn, MHD_HTTP_OK, "text/html; charset=utf-8",
			     index_page, sizeof(index_page) - 1, NULL);
	return text(h, conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

void http__set_api(struct http *h, struct api *api)
{
	h->api = api;
}

/* Split "[host]:port" / "host:port" / ":port". */
static int split_addr(const char *addr, char *host, size_t hlen, char *port,
		      size_t plen)
{
	const char *colon;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		snprintf(host, hlen, "%.*s", (int)(end - addr - 1), addr + 1);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL;
		snprintf(host, hlen, "%.*s", (int)(colon - addr), addr);
	}
	snprintf(port, plen, "%s", colon + 1);
	return port[0] ? 0 : -EINVAL;
}

static int open_listener(const char *addr, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
			*res = NULL, *ai;
	char host[256], port[16];
	int fd = -1, err = 0, one = 1, zero = 0, rc;

	if (split_addr(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(why, len, "listen address '%s': expected [host]:port", addr);
		return -EINVAL;
	}
	hints.ai_family = host[0] ? AF_UNSPEC : AF_INET6;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc && !host[0]) {
		hints.ai_family = AF_INET;
		rc = getaddrinfo(NULL, port, &hints, &res);
	}
	if (rc) {
		snprintf(why, len, "listen address '%s': %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !host[0])
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, len, "listen on %s: %s", addr, strerror(-err));
		return err ? err : -EINVAL;
	}
	return fd;
}

struct http *http__new(const char *listen_address, struct collector *collector,
		       struct web_config *wc, char *why, size_t len)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct http *h;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	h->collector = collector;
	h->wc = wc;
	h->listen_fd = open_listener(listen_address, why, len);
	if (h->listen_fd < 0) {
		err = h->listen_fd;
		goto err_free;
	}
	if (getsockname(h->listen_fd, (struct sockaddr *)&ss, &sl) == 0)
		h->port = ntohs(ss.ss_family == AF_INET6 ?
				((struct sockaddr_in6 *)&ss)->sin6_port :
				((struct sockaddr_in *)&ss)->sin_port);
	if (webconfig__tls(wc)) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			err = -EOPNOTSUPP;
			snprintf(why, len, "TLS: this libmicrohttpd was built without it");
			goto err_close;
		}
		h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_TLS, 0, NULL, NULL,
					handler, h,
					MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
					MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
					MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
					MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
					MHD_OPTION_HTTPS_MEM_CERT, wc->cert_pem,
					MHD_OPTION_HTTPS_MEM_KEY, wc->key_pem,
					MHD_OPTION_HTTPS_PRIORITIES, wc->priorities,
					MHD_OPTION_END);
		if (!h->d) {
			err = -EINVAL;
			snprintf(why, len, "TLS on %s: libmicrohttpd refused the "
				 "certificate or key (%s, %s): do they match?",
				 listen_address, wc->cert_file, wc->key_file);
			goto err_close;
		}
	} else {
		h->d = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, handler, h,
					MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
					MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
					MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
					MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
					MHD_OPTION_END);
	}
	if (!h->d) {
		err = -EIO;
		snprintf(why, len, "starting the HTTP server on %s failed",
			 listen_address);
		goto err_close;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		err = -EIO;
		snprintf(why, len, "HTTP server has no epoll fd");
		goto err_stop;
	}
	h->epoll_fd = info->epoll_fd;
	return h;

err_stop:
	MHD_stop_daemon(h->d);
err_close:
	close(h->listen_fd);
err_free:
	free(h);
	errno = -err;
	return NULL;
}

void http__free(struct http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	close(h->listen_fd);
	free(h);
}

int http__fd(const struct http *h)
{
	return h->epoll_fd;
}

void http__run(struct http *h)
{
	MHD_run(h->d);
}

int http__timeout_ms(const struct http *h)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(h->d, &t) != MHD_YES)
		return -1;
	return t > 60000 ? 60000 : (int)t;
}

uint16_t http__port(const struct http *h)
{
	return h->port;
}
