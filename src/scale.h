/*
 * scale.h: movierec's scale-out glue (scale.c): what must run on a primary.
 */
#ifndef MR_SCALE_H
#define MR_SCALE_H

#include "postgres.h"

/* Raise a clear error when this server is a hot standby; what = "train" ... */
extern void MrRequirePrimary(const char *what);

#endif							/* MR_SCALE_H */
