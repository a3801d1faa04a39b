/*
 * lifecycle.h: state machines defined as data (lifecycle.c).
 */
#ifndef METASTORE_LIFECYCLE_H
#define METASTORE_LIFECYCLE_H

#include "postgres.h"

#endif
