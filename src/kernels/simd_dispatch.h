/*
 * simd_dispatch.h: the one place that chooses the SIMD variant of the hot
 * loops (scoring scan, bound passes, top-k prefilter) at run time.
 *
 * No PostgreSQL headers: kernels, unit tests and benchmarks share it.
 */
#ifndef MR_SIMD_DISPATCH_H
#define MR_SIMD_DISPATCH_H

#include <stdbool.h>

/* Variants, from the most portable to the widest. */
typedef enum MrSimd
{
	MR_SIMD_PORTABLE = 0,		/* plain C the compiler vectorizes */
	MR_SIMD_NEON,				/* aarch64 Advanced SIMD */
	MR_SIMD_AVX2,				/* x86-64-v3: AVX2 + FMA */
	MR_SIMD_AVX512F,			/* AVX-512 Foundation */
	MR_SIMD_AVX512BF16,			/* AVX-512F + AVX512_BF16 (VDPBF16PS) */
	MR_SIMD_COUNT
} MrSimd;

/* The variant in use (the best the CPU supports unless one was forced). */
extern MrSimd mr_simd_current;

/* Set on first use; MrSimdCurrent() makes sure detection ran. */
extern bool mr_simd_ready;

/* Choose the best variant once (called by MrSimdCurrent). */
extern void MrSimdInitOnce(void);

/* The variant in use. */
static inline MrSimd
MrSimdCurrent(void)
{
	if (!mr_simd_ready)
		MrSimdInitOnce();
	return mr_simd_current;
}

/* Name of a variant: portable, neon, avx2, avx512f, avx512bf16. */
extern const char *MrSimdName(MrSimd v);

/* Variant of a name, or -1 when unknown ("auto" is the caller's). */
extern int	MrSimdFromName(const char *name);

/* True when this CPU and its OS support variant v. */
extern bool MrSimdSupported(MrSimd v);

/* The widest supported variant. */
extern MrSimd MrSimdBest(void);

/* Use variant v; false (nothing changes) when the CPU lacks it. */
extern bool MrSimdForce(MrSimd v);

/* Back to the best variant. */
extern void MrSimdAuto(void);

/* "avx512f, avx2, portable": the supported variants, widest first. */
extern const char *MrSimdSupportedList(void);

/* True when the CPU has scalar FMA (exact rescoring uses it when so). */
extern bool MrSimdHaveFma(void);

#endif							/* MR_SIMD_DISPATCH_H */
