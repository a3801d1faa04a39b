/*
 * lifecycle.h: state machines defined as data (lifecycle.c), and their limits
 * (docs/lifecycle.md).
 */
#ifndef METASTORE_LIFECYCLE_H
#define METASTORE_LIFECYCLE_H

#include "postgres.h"

#define MS_MACHINE_MAX_STATES		256		/* states of one machine */
#define MS_MACHINE_MAX_TRANSITIONS	4096	/* transitions, from-lists expanded */
#define MS_MACHINE_MAX_NAME_BYTES	128		/* a state or action name */

#endif
