/*
 * movierec.h: private declarations shared by movierec's PostgreSQL glue.
 *
 * Numerical kernels do not include this header; they use plain C types
 * and blas.h so that they can be built and tested outside the server.
 */
#ifndef MOVIEREC_H
#define MOVIEREC_H

#include "postgres.h"

#define MOVIEREC_VERSION "0.2"

/* GUC variables (movierec.c) */
extern int	mr_blas_threads;

/* movierec.c: load OpenBLAS in this backend or raise an error */
extern void MrEnsureBlas(void);

/* movierec.c: true when loaded through shared_preload_libraries */
extern bool mr_preloaded;

/* ratelimit.c: the HTTP rate limiter's shared memory and setting */
extern void MrRateLimitInit(void);

#endif							/* MOVIEREC_H */
