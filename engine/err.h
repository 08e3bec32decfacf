/* err: how every dagrun module reports failure.
 *
 * A function that can fail returns 0 or -1 and fills a caller-owned
 * 'struct err'.  The error carries its kind (what the exit code will be),
 * a message in git's voice ("unknown field 'need' in node 'x' (expected
 * one of: ...)", no capital, no full stop), and the C file:line that raised
 * it, SQLite's BKPT idea, so a report can be traced to its birth.
 *
 * Invariant: 'kind' is ERR_NONE exactly when 'msg' is empty.
 * Several user errors may be gathered into one err with err_append(): a
 * pipeline is validated as a whole and all of its errors shown at once. */
#ifndef DAGRUN_ERR_H
#define DAGRUN_ERR_H

#include <stddef.h>

enum err_kind {
	ERR_NONE = 0,
	ERR_USER,     /* the user's input is wrong: exit code 2 */
	ERR_IO,       /* disk, network or environment: exit code 3 */
	ERR_INTERNAL  /* a bug or an impossible state: exit code 3 */
};

/* 8192: room for a few dozen gathered diagnostics; longer lists are cut */
#define ERR_MSG_MAX 8192

struct err {
	enum err_kind kind;
	int count;               /* number of messages gathered */
	const char *src_file;    /* C source that raised the first message */
	int src_line;
	char msg[ERR_MSG_MAX];
};

/* Set 'e' to one message, replacing what was there. */
#define err_set(e, k, ...) err_set_at((e), (k), __FILE__, __LINE__, __VA_ARGS__)
/* Add one more message on its own line; the first kind stays. */
#define err_append(e, k, ...) err_append_at((e), (k), __FILE__, __LINE__, __VA_ARGS__)

void err_init(struct err *e);
void err_set_at(struct err *e, enum err_kind k, const char *file, int line,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void err_append_at(struct err *e, enum err_kind k, const char *file, int line,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prefix the message with "what: ", e.g. the file being loaded. */
void err_prefix(struct err *e, const char *what);

/* The exit code this error maps to (0 for ERR_NONE). Decided here so that
 * cli.c stays the only place that calls exit(). */
int err_exit_code(const struct err *e);

/* "error" / "io error" / "internal error" */
const char *err_kind_name(enum err_kind k);

#endif
