/*
 * blas.h: run-time bound OpenBLAS/LAPACK entry points.
 *
 * Plain C, no PostgreSQL headers: the numerical kernels and their unit
 * tests use this interface both inside and outside the server.
 */
#ifndef MR_BLAS_H
#define MR_BLAS_H

#include <stddef.h>

/* CBLAS enum values (identical to cblas.h) */
enum
{
	MrRowMajor = 101, MrColMajor = 102,
	MrNoTrans = 111, MrTrans = 112,
	MrUpper = 121, MrLower = 122
};

typedef struct MrBlasApi
{
	void		(*sgemm) (int order, int ta, int tb, int m, int n, int k,
						  float alpha, const float *a, int lda,
						  const float *b, int ldb, float beta, float *c, int ldc);
	void		(*sgemv) (int order, int trans, int m, int n, float alpha,
						  const float *a, int lda, const float *x, int incx,
						  float beta, float *y, int incy);
	void		(*ssyrk) (int order, int uplo, int trans, int n, int k,
						  float alpha, const float *a, int lda,
						  float beta, float *c, int ldc);
	float		(*sdot) (int n, const float *x, int incx, const float *y, int incy);
	void		(*saxpy) (int n, float alpha, const float *x, int incx, float *y, int incy);
	/* LAPACK (Fortran calling convention) */
	void		(*spotrf) (const char *uplo, const int *n, float *a, const int *lda, int *info);
	void		(*spotrs) (const char *uplo, const int *n, const int *nrhs, const float *a,
						   const int *lda, float *b, const int *ldb, int *info);
	void		(*sposv) (const char *uplo, const int *n, const int *nrhs, float *a,
						  const int *lda, float *b, const int *ldb, int *info);
	void		(*spotri) (const char *uplo, const int *n, float *a, const int *lda, int *info);
	/* OpenBLAS extras */
	char	   *(*get_corename) (void);
	char	   *(*get_config) (void);
	int			(*get_num_threads) (void);
	void		(*set_num_threads) (int n);
} MrBlasApi;

/* The bound API; valid after MrBlasLoad() returned NULL. */
extern MrBlasApi mr_blas;

/* Load OpenBLAS once; returns NULL on success or a static error message. */
extern const char *MrBlasLoad(void);

/* Set the OpenBLAS thread count (loads the library if needed). */
extern void MrBlasSetThreads(int n);

/* The core type chosen from CPUID, or NULL if left to OpenBLAS. */
extern const char *MrBlasChosenCoretype(void);

/* Where the core type came from: "cpuid", "environment" or "openblas". */
extern const char *MrBlasCoretypeSource(void);

/* Path of the loaded library, or NULL. */
extern const char *MrBlasLibraryPath(void);

#endif							/* MR_BLAS_H */
