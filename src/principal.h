/*
 * principal.h: the one source of "who is acting".
 */
#ifndef METASTORE_PRINCIPAL_H
#define METASTORE_PRINCIPAL_H

#include "postgres.h"

extern const char *ms_current_principal(void);

#endif
