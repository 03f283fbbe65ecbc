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

/* settings.c: movierec.blas_threads, and loading OpenBLAS in this backend */
extern int	mr_blas_threads;
extern void MrSettingsInit(void);
extern void MrEnsureBlas(void);

/* settings.c: true when loaded through shared_preload_libraries */
extern bool mr_preloaded;

/* ratelimit.c: the HTTP rate limiter's shared memory and setting */
extern void MrRateLimitInit(void);

#endif							/* MOVIEREC_H */
