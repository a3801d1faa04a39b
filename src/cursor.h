/*
 * cursor.h: opaque, tamper-evident page cursors (sealed with libsodium).
 */
#ifndef METASTORE_CURSOR_H
#define METASTORE_CURSOR_H

#include "postgres.h"

#define MS_CURSOR_MAX_BYTES 4096

extern char *ms_cursor_seal(const char *payload, const unsigned char *ad, size_t adlen);
extern char *ms_cursor_open(const char *cursor, const unsigned char *ad, size_t adlen);

#endif
