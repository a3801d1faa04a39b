/*
 * access.h: namespace roles, the one access check every aggregate uses.
 */
#ifndef METASTORE_ACCESS_H
#define METASTORE_ACCESS_H

#include "postgres.h"

typedef enum MsRole
{
	MS_ROLE_READER,
	MS_ROLE_WRITER,
	MS_ROLE_ADMIN,
	MS_ROLE_DEVELOPER,
	MS_ROLE_APPROVER,
	MS_ROLE_TESTER				/* external_testing_system */
} MsRole;

extern MsRole ms_parse_role(const char *name);
extern const char *ms_role_name(MsRole role);
extern bool ms_has_role(const char *ns, MsRole role);
extern void ms_require_role(const char *ns, MsRole role);
extern bool ms_is_global_admin(void);
extern void ms_access_init(void);

#endif
