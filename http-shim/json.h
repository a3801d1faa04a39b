/*
 * json.h: the shim's only text handling: a growable byte buffer, JSON string
 * escaping, UTF-8 validation, and a reader for flat JSON objects (the headers
 * object http_dispatch returns).  No third-party JSON library: the shim needs
 * a few hundred lines of it, not a dependency.
 */
#ifndef MS_SHIM_JSON_H
#define MS_SHIM_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Growable buffer; after an allocation failure `failed` is set and further appends are no-ops. */
typedef struct jbuf
{
	char	   *data;			/* always NUL-terminated when non-NULL */
	size_t		len;
	size_t		cap;
	bool		failed;
} jbuf;

void		jb_init(jbuf *b);
void		jb_free(jbuf *b);
void		jb_reset(jbuf *b);
void		jb_append(jbuf *b, const char *s, size_t n);
void		jb_puts(jbuf *b, const char *s);
void		jb_putc(jbuf *b, char c);
void		jb_printf(jbuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
/* A quoted JSON string; invalid UTF-8 bytes become U+FFFD so the output is always valid JSON. */
void		jb_string(jbuf *b, const char *s, size_t n);
/* jb_string for a NUL-terminated string, or the literal null when s is NULL. */
void		jb_cstring_or_null(jbuf *b, const char *s);

/* Strict UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) without NUL bytes. */
bool		utf8_valid(const char *s, size_t n);

/*
 * Called once per member of a flat object: a string value is decoded, a
 * number/true/false is passed as its literal text, null members are skipped,
 * and an array of scalars calls back once per element.  Return non-zero to stop.
 */
typedef int (*json_member_fn) (void *cls, const char *name, const char *value, size_t value_len);

/* Walk a flat JSON object; 0 on success, -1 on malformed or nested input, else the callback's value. */
int			json_each_member(const char *text, size_t len, json_member_fn fn, void *cls);

/*
 * Raw walkers for nested documents.  json_each_member_raw calls back once per
 * member of an object with its name as written between the quotes (escapes
 * not decoded) and the exact text of its value, whatever its type;
 * json_each_element_raw once per element of an array (name NULL, length 0).
 * Both check the whole text is well-formed JSON (nesting at most 64 deep)
 * and that nothing follows it.  Return non-zero from the callback to stop.
 * 0 on success, -1 when malformed, else the callback's value.
 */
typedef int (*json_raw_fn) (void *cls, const char *name, size_t name_len, const char *value, size_t value_len);
int			json_each_member_raw(const char *text, size_t len, json_raw_fn fn, void *cls);
int			json_each_element_raw(const char *text, size_t len, json_raw_fn fn, void *cls);

/* Append well-formed JSON text without its insignificant whitespace: one line, byte for byte otherwise. */
void		jb_json_compact(jbuf *b, const char *s, size_t n);

#endif
