/* subst: "${a.b}" references from pipeline values into the Lua config.
 *
 * A string that is exactly one reference becomes the referenced value
 * itself, of any JSON type (a table becomes an object or an array).  A
 * reference inside a longer string is interpolated as text, which needs a
 * string, number or boolean.  "$${" stands for a literal "${".
 * Nothing here keeps state; all functions are thread-safe. */
#ifndef DAGRUN_SUBST_H
#define DAGRUN_SUBST_H

#include <stddef.h>

#include <jansson.h>

/* Resolve the references in 's'.  Returns a new value the caller owns
 * (a plain json_string when 's' holds no reference), or NULL with the
 * reason written to 'msg' ("unknown reference '${gru.hiden}': ...").
 * 'config' may be NULL when the pipeline has no params file. */
json_t *subst_resolve(json_t *config, const char *s, char *msg, size_t n);

/* 1 if 's' contains a reference. */
int subst_has_ref(const char *s);

/* The text of a scalar as used in node ids and interpolation: strings as
 * they are, integers in decimal, reals in their shortest form that reads
 * back exactly, true/false/null.  Caller frees; NULL for arrays and
 * objects. */
char *subst_scalar_text(const json_t *v);

#endif
