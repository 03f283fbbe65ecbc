/*
 * evaluate.h: movierec.evaluate() glue shared with cross-validation.
 */
#ifndef MR_EVALUATE_H
#define MR_EVALUATE_H

#include "postgres.h"

/* Largest k that movierec.evaluate() accepts. */
#define MR_EVAL_MAX_K 10000

#endif							/* MR_EVALUATE_H */
