/*
 * principal.h: the one source of "who is acting".
 *
 * A request authenticated with an API key acts as that key's principal for
 * the rest of its transaction; anything else acts as its session role.
 */
#ifndef METASTORE_PRINCIPAL_H
#define METASTORE_PRINCIPAL_H

#include "postgres.h"

extern const char *ms_current_principal(void);
extern bool ms_principal_is_superuser(void);
extern uint64 ms_principal_generation(void);
extern void ms_set_authenticated_principal(const char *principal);
extern char *ms_check_principal_name(text *name, const char *argname);
extern void ms_principal_init(void);

#endif
