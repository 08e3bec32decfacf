/* svg: see svg.h.
 *
 * Data units map linearly (or by log10) onto the plot area: x grows to
 * the right, y upwards.  Tick steps are 1, 2 or 5 times a power of ten,
 * or calendar steps on a time axis, chosen so that about SVG_TICKS ticks
 * show. */
#include "svg.h"
#include "timeparse.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 6: ticks per axis to aim for; labels of a 700 px axis stay apart */
#define SVG_TICKS 6
/* 7: pixels per character of the 12 px sans-serif labels, for cutting
 * text to fit a box (an estimate: no font metrics without a browser) */
#define CHAR_PX 7.0

void svg_escape(struct strbuf *sb, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sb_adds(sb, "&amp;"); break;
		case '<': sb_adds(sb, "&lt;"); break;
		case '>': sb_adds(sb, "&gt;"); break;
		case '"': sb_adds(sb, "&quot;"); break;
		case '\'': sb_adds(sb, "&#39;"); break;
		default: sb_addc(sb, *s);
		}
	}
}

/* 's' escaped, cut to 'max' bytes (on a UTF-8 character boundary) with
 * an ellipsis when longer. */
static void escape_cut(struct strbuf *sb, const char *s, size_t max)
{
	size_t n = strlen(s), k;
	char *cut;

	if (n <= max) {
		svg_escape(sb, s);
		return;
	}
	k = max > 1 ? max - 1 : 0;
	while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	cut = xstrndup(s, k);
	svg_escape(sb, cut);
	free(cut);
	sb_adds(sb, "\xE2\x80\xA6");
}

int svg_flat(double lo, double hi)
{
	return hi - lo <= SVG_FLAT * fmax(fabs(lo), fabs(hi));
}

void svg_plot_init(struct svg_plot *p, double width, double height, int flags)
{
	memset(p, 0, sizeof(*p));
	p->width = width;
	p->height = height;
	p->left = 70;
	p->right = 16;
	p->top = 30;
	p->bottom = 44;
	p->x0 = p->y0 = INFINITY;
	p->x1 = p->y1 = -INFINITY;
	p->flags = flags;
}

/* Can y be drawn: finite, and positive on a log axis. */
static int ok_y(const struct svg_plot *p, double y)
{
	return isfinite(y) && (!(p->flags & SVG_LOG_Y) || y > 0);
}

void svg_plot_include(struct svg_plot *p, const double *x, const double *y,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (x && isfinite(x[i])) {
			p->x0 = fmin(p->x0, x[i]);
			p->x1 = fmax(p->x1, x[i]);
		}
		if (y && ok_y(p, y[i])) {
			p->y0 = fmin(p->y0, y[i]);
			p->y1 = fmax(p->y1, y[i]);
		}
	}
}

/* Widen [*a, *b] when empty or a point: a range narrower than
 * SVG_FLAT of its magnitude is rounding noise around one value, and would
 * get ticks that print alike. */
static void widen(double *a, double *b, double empty_a, double empty_b)
{
	double d, mid;

	if (!(*a <= *b)) {
		*a = empty_a;
		*b = empty_b;
	} else if (svg_flat(*a, *b)) {
		mid = (*a + *b) / 2;
		d = mid != 0 ? fabs(mid) * 0.05 : 0.5;
		*a = mid - d;
		*b = mid + d;
	}
}

/* The settled ranges: see svg.h. */
static void settle(struct svg_plot *p)
{
	double pad;

	widen(&p->x0, &p->x1, 0, 1);
	if (p->flags & SVG_NO_Y_TICKS) {
		widen(&p->y0, &p->y1, 0, 1);
	} else if (p->flags & SVG_LOG_Y) {
		widen(&p->y0, &p->y1, 1, 10);
		pad = pow(p->y1 / p->y0, 0.05);
		p->y0 /= pad;
		p->y1 *= pad;
	} else if (p->flags & SVG_Y_ZERO) {
		widen(&p->y0, &p->y1, 0, 1);
		p->y0 = fmin(p->y0, 0);
		p->y1 = fmax(p->y1, 0);
		p->y1 += (p->y1 - p->y0) * 0.05;
	} else {
		widen(&p->y0, &p->y1, 0, 1);
		pad = (p->y1 - p->y0) * 0.05;
		p->y0 -= pad;
		p->y1 += pad;
	}
}

/* Data x to pixels. */
static double px(const struct svg_plot *p, double x)
{
	return p->left + (x - p->x0) / (p->x1 - p->x0) *
	       (p->width - p->left - p->right);
}

/* Data y to pixels (log10 with SVG_LOG_Y). */
static double py(const struct svg_plot *p, double y)
{
	double v = y, v0 = p->y0, v1 = p->y1;

	if (p->flags & SVG_LOG_Y) {
		v = log10(y);
		v0 = log10(v0);
		v1 = log10(v1);
	}
	return p->height - p->bottom - (v - v0) / (v1 - v0) *
	       (p->height - p->top - p->bottom);
}

void svg_begin(struct strbuf *sb, struct svg_plot *p, const char *label)
{
	settle(p);
	sb_addf(sb, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
		"height=\"%.0f\" role=\"img\" aria-label=\"", p->width, p->height,
		p->width, p->height);
	svg_escape(sb, label);
	sb_adds(sb, "\"><title>");
	svg_escape(sb, label);
	sb_adds(sb, "</title>\n");
}

void svg_end(struct strbuf *sb)
{
	sb_adds(sb, "</svg>\n");
}

/* ---- ticks ----------------------------------------------------------- */

/* 1, 2 or 5 times a power of ten, near span / target. */
static double nice_step(double span, int target)
{
	double raw = span / target, mag = pow(10, floor(log10(raw))), f = raw / mag;

	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* A tick value as text: as many decimals as the step needs. */
static void number_label(char *buf, size_t n, double v, double step, double big)
{
	int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

	if (fabs(v) < step * 1e-9)
		v = 0;
	if (big >= 1e6 || (big < 1e-3 && big > 0) || dec > 8)
		snprintf(buf, n, "%.3g", v);
	else
		snprintf(buf, n, "%.*f", dec, v);
}

/* A grid line and label at x = v. */
static void tick_x(struct strbuf *sb, const struct svg_plot *p, double v,
		   const char *label)
{
	double x = px(p, v);

	sb_addf(sb, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
		"text-anchor=\"middle\">", x, p->top, x, p->height - p->bottom, x,
		p->height - p->bottom + 16);
	svg_escape(sb, label);
	sb_adds(sb, "</text>\n");
}

/* A grid line and label at y = v. */
static void tick_y(struct strbuf *sb, const struct svg_plot *p, double v,
		   const char *label)
{
	double y = py(p, v);

	sb_addf(sb, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
		"text-anchor=\"end\">", p->left, y, p->width - p->right, y,
		p->left - 6, y + 4);
	svg_escape(sb, label);
	sb_adds(sb, "</text>\n");
}

/* Ticks at multiples of a nice step, on y when 'y', else on x. */
static void linear_ticks(struct strbuf *sb, const struct svg_plot *p, int y)
{
	double a = y ? p->y0 : p->x0, b = y ? p->y1 : p->x1;
	double step = nice_step(b - a, SVG_TICKS), big = fmax(fabs(a), fabs(b));
	char label[48];

	for (double k = ceil(a / step); k * step <= b; k++) {
		number_label(label, sizeof(label), k * step, step, big);
		if (y)
			tick_y(sb, p, k * step, label);
		else
			tick_x(sb, p, k * step, label);
	}
}

/* Decades, with 2 and 5 between them when the range spans less than two. */
static void log_ticks(struct strbuf *sb, const struct svg_plot *p)
{
	static const double mant[3] = {1, 2, 5};
	int d0 = (int)floor(log10(p->y0)), d1 = (int)ceil(log10(p->y1));
	int few = d1 - d0 <= 2;
	char label[48];

	for (int d = d0; d <= d1; d++)
		for (int m = 0; m < (few ? 3 : 1); m++) {
			double v = mant[m] * pow(10, d);
			if (v < p->y0 || v > p->y1)
				continue;
			snprintf(label, sizeof(label), "%g", v);
			tick_y(sb, p, v, label);
		}
}

/* "YYYY-MM-DD" or "MM-DD hh:mm" of unix seconds 't', UTC. */
static void time_label(char *buf, size_t n, int64_t t, int with_time)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), y;
	int64_t sod = t - days * 86400;
	int m, d;

	timeparse_civil_from_days(days, &y, &m, &d);
	if (with_time)
		snprintf(buf, n, "%02d-%02d %02d:%02d", m, d, (int)(sod / 3600),
			 (int)(sod / 60 % 60));
	else
		snprintf(buf, n, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* Month steps: the first of every 'months'-th month, labelled YYYY-MM. */
static void month_ticks(struct strbuf *sb, const struct svg_plot *p, int months)
{
	int64_t y, t;
	int m, d, k;
	char label[48];

	timeparse_civil_from_days((int64_t)floor(p->x0 / 86400), &y, &m, &d);
	k = (int)(y * 12 + m - 1);
	k += (months - k % months) % months;
	for (;; k += months) {
		t = timeparse_days_from_civil(k / 12, k % 12 + 1, 1) * 86400;
		if ((double)t > p->x1)
			break;
		if ((double)t < p->x0)
			continue;
		if (months >= 12)
			snprintf(label, sizeof(label), "%d", k / 12);
		else
			snprintf(label, sizeof(label), "%04d-%02d", k / 12, k % 12 + 1);
		tick_x(sb, p, (double)t, label);
	}
}

/* The smallest calendar step that gives at most SVG_TICKS + 1 ticks:
 * minutes to weeks aligned to UTC, then months and years. */
static void time_ticks(struct strbuf *sb, const struct svg_plot *p)
{
	static const double secs[] = {60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600,
				      12 * 3600, 86400, 2 * 86400, 7 * 86400,
				      14 * 86400};
	static const int months[] = {1, 2, 3, 6, 12, 24, 60, 120, 600};
	double span = p->x1 - p->x0;
	char label[48];
	size_t i;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		if (span / secs[i] > SVG_TICKS + 1)
			continue;
		for (double k = ceil(p->x0 / secs[i]); k * secs[i] <= p->x1; k++) {
			time_label(label, sizeof(label), (int64_t)(k * secs[i]),
				   secs[i] < 86400);
			tick_x(sb, p, k * secs[i], label);
		}
		return;
	}
	for (i = 0; i + 1 < sizeof(months) / sizeof(months[0]) &&
	     span / (months[i] * 30.44 * 86400) > SVG_TICKS + 1; i++)
		;
	month_ticks(sb, p, months[i]);
}

void svg_axes(struct strbuf *sb, const struct svg_plot *p, const char *x_title,
	      const char *y_title)
{
	if (p->flags & SVG_TIME_X)
		time_ticks(sb, p);
	else
		linear_ticks(sb, p, 0);
	if (p->flags & SVG_LOG_Y)
		log_ticks(sb, p);
	else if (!(p->flags & SVG_NO_Y_TICKS))
		linear_ticks(sb, p, 1);
	sb_addf(sb, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\"/>\n", p->left, p->top, p->width - p->left - p->right,
		p->height - p->top - p->bottom);
	if (x_title) {
		sb_addf(sb, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor="
			"\"middle\">", (p->left + p->width - p->right) / 2, p->height - 6);
		svg_escape(sb, x_title);
		sb_adds(sb, "</text>\n");
	}
	if (y_title) {
		double y = (p->top + p->height - p->bottom) / 2;
		sb_addf(sb, "<text class=\"axis\" x=\"14\" y=\"%.1f\" text-anchor=\"middle\" "
			"transform=\"rotate(-90 14 %.1f)\">", y, y);
		svg_escape(sb, y_title);
		sb_adds(sb, "</text>\n");
	}
}

/* ---- series ---------------------------------------------------------- */

/* Append one vertex; a gap lifts the pen. */
static void vertex(struct strbuf *sb, const struct svg_plot *p, double x,
		   double y, int *pen)
{
	if (!isfinite(x) || !ok_y(p, y)) {
		*pen = 0;
		return;
	}
	sb_addf(sb, "%s%.1f,%.1f", *pen ? " L" : " M", px(p, x), py(p, y));
	*pen = 1;
}

void svg_line(struct strbuf *sb, const struct svg_plot *p, const double *x,
	      const double *y, size_t n, const char *cls)
{
	size_t buckets = SVG_MAX_POINTS / 2, b, i;
	int pen = 0;

	sb_addf(sb, "<path class=\"%s\" d=\"", cls);
	if (n <= SVG_MAX_POINTS) {
		for (i = 0; i < n; i++)
			vertex(sb, p, x[i], y[i], &pen);
	} else {
		for (b = 0; b < buckets; b++) {
			size_t lo = n * b / buckets, hi = n * (b + 1) / buckets;
			size_t imin = hi, imax = hi;
			for (i = lo; i < hi; i++) {
				if (!isfinite(x[i]) || !ok_y(p, y[i]))
					continue;
				if (imin == hi || y[i] < y[imin])
					imin = i;
				if (imax == hi || y[i] > y[imax])
					imax = i;
			}
			if (imin == hi) {
				pen = 0;
				continue;
			}
			i = imin < imax ? imin : imax;
			vertex(sb, p, x[i], y[i], &pen);
			if (imin != imax) {
				i = imin < imax ? imax : imin;
				vertex(sb, p, x[i], y[i], &pen);
			}
		}
	}
	sb_adds(sb, "\"/>\n");
}

/* Bucket b of 'nb' over n points of a band: the first and last x of its
 * usable points, the highest 'hi' and the lowest 'lo'; 0 if none. */
static int band_bucket(const struct svg_plot *p, const double *x,
		       const double *lo, const double *hi, size_t n, size_t nb,
		       size_t b, double out[4])
{
	size_t a = n * b / nb, e = n * (b + 1) / nb, i;
	int any = 0;

	for (i = a; i < e; i++) {
		if (!isfinite(x[i]) || !ok_y(p, lo[i]) || !ok_y(p, hi[i]))
			continue;
		if (!any) {
			out[0] = x[i];
			out[2] = hi[i];
			out[3] = lo[i];
		}
		out[1] = x[i];
		out[2] = fmax(out[2], hi[i]);
		out[3] = fmin(out[3], lo[i]);
		any = 1;
	}
	return any;
}

void svg_band(struct strbuf *sb, const struct svg_plot *p, const double *x,
	      const double *lo, const double *hi, size_t n, const char *cls)
{
	size_t nb = n < SVG_MAX_POINTS / 4 ? n : SVG_MAX_POINTS / 4, b;
	double q[4];
	int pen = 0;

	sb_addf(sb, "<path class=\"%s\" d=\"", cls);
	for (b = 0; b < nb; b++) {
		if (!band_bucket(p, x, lo, hi, n, nb, b, q))
			continue;
		vertex(sb, p, q[0], q[2], &pen);
		if (q[1] != q[0])
			vertex(sb, p, q[1], q[2], &pen);
	}
	for (b = nb; b-- > 0;) {
		if (!band_bucket(p, x, lo, hi, n, nb, b, q))
			continue;
		if (q[1] != q[0])
			vertex(sb, p, q[1], q[3], &pen);
		vertex(sb, p, q[0], q[3], &pen);
	}
	sb_adds(sb, pen ? " Z\"/>\n" : "\"/>\n");
}

void svg_rect(struct strbuf *sb, const struct svg_plot *p, double x0,
	      double x1, double y0, double y1, const char *cls, const char *tip)
{
	double l = fmax(fmin(px(p, x0), px(p, x1)), p->left);
	double r = fmin(fmax(px(p, x0), px(p, x1)), p->width - p->right);
	double t = fmax(fmin(py(p, y0), py(p, y1)), p->top);
	double b = fmin(fmax(py(p, y0), py(p, y1)), p->height - p->bottom);

	if (!(r >= l) || !(b >= t))
		return;
	sb_addf(sb, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\">", cls, l, t, r - l, b - t);
	if (tip) {
		sb_adds(sb, "<title>");
		svg_escape(sb, tip);
		sb_adds(sb, "</title>");
	}
	sb_adds(sb, "</rect>\n");
}

void svg_vrule(struct strbuf *sb, const struct svg_plot *p, double v,
	       const char *cls, const char *label)
{
	double x = px(p, v);

	if (!(v >= p->x0 && v <= p->x1))
		return;
	sb_addf(sb, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\"/>\n", cls, x, p->top, x, p->height - p->bottom);
	if (label) {
		sb_addf(sb, "<text class=\"rule\" x=\"%.1f\" y=\"%.1f\">", x + 3,
			p->top + 11);
		svg_escape(sb, label);
		sb_adds(sb, "</text>\n");
	}
}

void svg_hrule(struct strbuf *sb, const struct svg_plot *p, double v,
	       const char *cls, const char *label)
{
	double y;

	if (!ok_y(p, v) || !(v >= p->y0 && v <= p->y1))
		return;
	y = py(p, v);
	sb_addf(sb, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\"/>\n", cls, p->left, y, p->width - p->right, y);
	if (label) {
		sb_addf(sb, "<text class=\"rule\" x=\"%.1f\" y=\"%.1f\" text-anchor="
			"\"end\">", p->width - p->right - 4, y - 4);
		svg_escape(sb, label);
		sb_adds(sb, "</text>\n");
	}
}

void svg_ylabel(struct strbuf *sb, const struct svg_plot *p, double y,
		const char *text)
{
	sb_addf(sb, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
		p->left - 6, py(p, y) + 4);
	escape_cut(sb, text, (size_t)((p->left - 10) / CHAR_PX));
	sb_adds(sb, "</text>\n");
}

/* Entry width: a 18 px swatch, 6 px, the name, 16 px to the next. */
static double legend_width(const char *name)
{
	return 40 + CHAR_PX * (double)strlen(name);
}

void svg_legend(struct strbuf *sb, const struct svg_plot *p,
		const char *const *names, const char *const *cls, size_t n)
{
	double x = p->width - p->right, y = p->top - 10;
	size_t i;

	for (i = 0; i < n; i++)
		x -= legend_width(names[i]);
	for (i = 0; i < n; i++) {
		sb_addf(sb, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"18\" "
			"height=\"8\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\">",
			cls[i], x + 16, y - 8, x + 40, y);
		svg_escape(sb, names[i]);
		sb_adds(sb, "</text>\n");
		x += legend_width(names[i]);
	}
}

/* ---- pixel space: the DAG -------------------------------------------- */

void svg_arrow_defs(struct strbuf *sb)
{
	sb_adds(sb, "<defs><marker id=\"svg-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" "
		"refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
		"<path class=\"arrowhead\" d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>\n");
}

void svg_box(struct strbuf *sb, double x, double y, double w, double h,
	     const char *cls, const char *line1, const char *line2,
	     const char *tip)
{
	size_t fit = (size_t)((w - 16) / CHAR_PX);

	sb_addf(sb, "<g class=\"%s\"><title>", cls);
	svg_escape(sb, tip);
	sb_addf(sb, "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\" rx=\"6\"/><text class=\"l1\" x=\"%.1f\" y=\"%.1f\">",
		x, y, w, h, x + 8, y + (line2 ? 18 : h / 2 + 4));
	escape_cut(sb, line1, fit);
	sb_adds(sb, "</text>");
	if (line2) {
		sb_addf(sb, "<text class=\"l2\" x=\"%.1f\" y=\"%.1f\">", x + 8, y + 35);
		escape_cut(sb, line2, fit);
		sb_adds(sb, "</text>");
	}
	sb_adds(sb, "</g>\n");
}

void svg_arrow(struct strbuf *sb, double x1, double y1, double x2, double y2)
{
	double mid = (x2 - x1) / 2;

	sb_addf(sb, "<path class=\"edge\" d=\"M%.1f,%.1f C%.1f,%.1f %.1f,%.1f "
		"%.1f,%.1f\" marker-end=\"url(#svg-arrow)\"/>\n", x1, y1, x1 + mid, y1,
		x2 - mid, y2, x2, y2);
}
