/* err: see err.h. No allocation: a message that does not fit is cut. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_init(struct err *e)
{
	memset(e, 0, sizeof(*e));
}

static void vput(struct err *e, size_t at, const char *fmt, va_list ap)
{
	if (at >= sizeof(e->msg) - 1)
		return;
	vsnprintf(e->msg + at, sizeof(e->msg) - at, fmt, ap);
}

void err_set_at(struct err *e, enum err_kind k, const char *file, int line,
		const char *fmt, ...)
{
	va_list ap;

	e->kind = k;
	e->count = 1;
	e->src_file = file;
	e->src_line = line;
	va_start(ap, fmt);
	vput(e, 0, fmt, ap);
	va_end(ap);
}

void err_append_at(struct err *e, enum err_kind k, const char *file, int line,
		   const char *fmt, ...)
{
	size_t n = strlen(e->msg);
	va_list ap;

	if (e->kind == ERR_NONE) {
		e->kind = k;
		e->src_file = file;
		e->src_line = line;
	} else if (n + 1 < sizeof(e->msg)) {
		e->msg[n++] = '\n';
		e->msg[n] = '\0';
	}
	e->count++;
	va_start(ap, fmt);
	vput(e, n, fmt, ap);
	va_end(ap);
}

void err_prefix(struct err *e, const char *what)
{
	size_t w = strlen(what) + 2, n = strlen(e->msg);

	if (w >= sizeof(e->msg))
		return;
	if (n + w >= sizeof(e->msg))
		n = sizeof(e->msg) - w - 1;
	memmove(e->msg + w, e->msg, n);
	e->msg[w + n] = '\0';
	memcpy(e->msg, what, w - 2);
	e->msg[w - 2] = ':';
	e->msg[w - 1] = ' ';
}

int err_exit_code(const struct err *e)
{
	switch (e->kind) {
	case ERR_NONE:
		return 0;
	case ERR_USER:
		return 2;
	default:
		return 3;
	}
}

const char *err_kind_name(enum err_kind k)
{
	switch (k) {
	case ERR_USER:
		return "error";
	case ERR_IO:
		return "io error";
	case ERR_INTERNAL:
		return "internal error";
	default:
		return "ok";
	}
}
