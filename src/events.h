/*
 * events.h: the outbox of changes (events.c).
 */
#ifndef METASTORE_EVENTS_H
#define METASTORE_EVENTS_H

/* The NOTIFY channel every committed change is announced on. */
#define MS_EVENTS_CHANNEL "metastore_events"

/* The NOLOGIN, BYPASSRLS role that prunes old events (DELETE on metastore.events only). */
#define MS_EVENTS_PRUNER_ROLE "metastore_pruner"

extern int	ms_event_retention_hours;	/* metastore.event_retention_hours */

#endif
