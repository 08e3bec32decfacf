/* svg: chart primitives for the HTML report (report.h), appended as
 * inline SVG text to a strbuf.
 *
 * A chart is a 'struct svg_plot': its size in pixels, the margins around
 * the plot area, and the data ranges shown on x and y.  The caller widens
 * the ranges to its data (svg_plot_include), svg_begin() settles them
 * (a degenerate range is widened, y gets a little room) and opens the
 * <svg>; then axes, lines, bands, rectangles and rules are drawn in data
 * coordinates, and svg_end() closes it.  The DAG picture uses the
 * pixel-space primitives svg_box() and svg_arrow() instead.
 *
 * Invariants of what is written:
 *   - no URL of any kind and no script: the <svg> element carries no
 *     xmlns (inline SVG in HTML needs none), styles come from the page's
 *     CSS classes, and the one internal reference is the arrow marker
 *     "url(#svg-arrow)" that svg_arrow_defs() defines;
 *   - every text is escaped (svg_escape), so a node name such as
 *     "<script>" is shown, never run;
 *   - the same input gives the same bytes: coordinates are printed with
 *     one decimal, numbers with fixed formats, no clock is read;
 *   - a path holds at most SVG_MAX_POINTS vertices: a longer series is
 *     thinned to the minimum and maximum of each of SVG_MAX_POINTS / 2
 *     buckets, so peaks survive.
 * Non-finite values (NAN, inf) are gaps: a line breaks there.
 * Nothing here fails (xalloc aborts on OOM) or keeps memory beyond the
 * strbuf; all functions are pure apart from appending to 'sb'. */
#ifndef DAGRUN_SVG_H
#define DAGRUN_SVG_H

#include <stddef.h>

#include "strbuf.h"

/* 2000: vertices per path; more adds bytes, not detail, at report width */
#define SVG_MAX_POINTS 2000
/* 1e-9: a range narrower than this share of its magnitude is one value
 * (rounding noise), drawn as a point */
#define SVG_FLAT 1e-9

/* Flags of svg_plot.flags. */
enum {
	SVG_LOG_Y = 1,      /* y is drawn as log10; y values <= 0 are gaps */
	SVG_TIME_X = 2,     /* x is unix seconds: ticks are UTC dates */
	SVG_Y_ZERO = 4,     /* the y range includes 0 and is not padded below
			     * it (bars, histograms) */
	SVG_NO_Y_TICKS = 8, /* y is a category index: no numeric y ticks */
};

struct svg_plot {
	double width, height;               /* the whole <svg>, pixels */
	double left, right, top, bottom;    /* margins around the plot area */
	double x0, x1, y0, y1;              /* data ranges; x0 > x1: empty */
	int flags;
};

/* Append 's' with & < > " ' as character references: safe as HTML text,
 * as an attribute value and as SVG text. */
void svg_escape(struct strbuf *sb, const char *s);

/* 1 if [lo, hi] is a single value up to SVG_FLAT. */
int svg_flat(double lo, double hi);

/* A 'width' x 'height' chart with room for tick labels and a legend, and
 * empty ranges. */
void svg_plot_init(struct svg_plot *p, double width, double height, int flags);
/* Widen the ranges to hold each finite (x[i], y[i]); 'x' or 'y' may be
 * NULL to widen only the other axis. */
void svg_plot_include(struct svg_plot *p, const double *x, const double *y,
		      size_t n);

/* Settle the ranges (see the top) and open the <svg> with 'label' as its
 * accessible name and title. */
void svg_begin(struct strbuf *sb, struct svg_plot *p, const char *label);
void svg_end(struct strbuf *sb);

/* The plot frame, grid lines, tick marks and tick labels (numbers, or
 * UTC dates with SVG_TIME_X, powers of ten with SVG_LOG_Y), and the axis
 * titles (either may be NULL). */
void svg_axes(struct strbuf *sb, const struct svg_plot *p, const char *x_title,
	      const char *y_title);

/* A polyline through (x[i], y[i]) with CSS class 'cls'. */
void svg_line(struct strbuf *sb, const struct svg_plot *p, const double *x,
	      const double *y, size_t n, const char *cls);
/* The area between lo[i] and hi[i] along x (a forecast interval). */
void svg_band(struct strbuf *sb, const struct svg_plot *p, const double *x,
	      const double *lo, const double *hi, size_t n, const char *cls);
/* The rectangle [x0, x1] x [y0, y1] in data units, clipped to the plot
 * area, with 'tip' (may be NULL) as its tooltip. */
void svg_rect(struct strbuf *sb, const struct svg_plot *p, double x0,
	      double x1, double y0, double y1, const char *cls, const char *tip);
/* A rule across the plot at x = 'v' (vertical) or y = 'v' (horizontal),
 * with an optional short 'label' at its end; nothing when 'v' is out of
 * range. */
void svg_vrule(struct strbuf *sb, const struct svg_plot *p, double v,
	       const char *cls, const char *label);
void svg_hrule(struct strbuf *sb, const struct svg_plot *p, double v,
	       const char *cls, const char *label);
/* 'text' left of the plot area, centred on y = 'y' (a category name). */
void svg_ylabel(struct strbuf *sb, const struct svg_plot *p, double y,
		const char *text);
/* A legend in one row above the plot's top right corner (in the top
 * margin): a swatch of class 'cls[i]' and 'names[i]' for each of 'n'
 * entries. */
void svg_legend(struct strbuf *sb, const struct svg_plot *p,
		const char *const *names, const char *const *cls, size_t n);

/* Pixel space (the DAG).  The arrow marker, once per <svg>, before any
 * svg_arrow(). */
void svg_arrow_defs(struct strbuf *sb);
/* A rounded box at (x, y) of w x h pixels, class 'cls', with up to two
 * lines of text (cut to fit, with an ellipsis; 'line2' may be NULL) and
 * 'tip' as its tooltip. */
void svg_box(struct strbuf *sb, double x, double y, double w, double h,
	     const char *cls, const char *line1, const char *line2,
	     const char *tip);
/* A curved arrow from (x1, y1) to (x2, y2). */
void svg_arrow(struct strbuf *sb, double x1, double y1, double x2, double y2);

#endif
