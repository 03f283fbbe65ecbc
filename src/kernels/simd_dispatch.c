/*
 * simd_dispatch.c: detect what the CPU and OS support and choose the SIMD
 * variant of the hot loops, once.
 *
 * Design (pgvector's halfutils.c and PostgreSQL's pg_popcount_avx512.c
 * are the model).  The module is built without -march: every wide
 * variant is compiled with __attribute__((target(...))) in its own
 * function, and this file decides at run time which one may run:
 *
 *   x86-64   CPUID leaf 1 (FMA, OSXSAVE, AVX), leaf 7 (AVX2, AVX512F, BW, VNNI) and
 *            leaf 7 subleaf 1 (AVX512_BF16), and XGETBV: the OS must save
 *            the YMM state (XCR0 bits 1-2) for AVX2 and the opmask and ZMM
 *            state too (bits 5-7) for AVX-512, or those instructions fault
 *            even on a CPU that has them;
 *   aarch64  getauxval(AT_HWCAP) & HWCAP_ASIMD (NEON is part of the base
 *            architecture, but the kernel says so explicitly);
 *   always   portable: plain C loops the compiler vectorizes for the
 *            build target (SSE2 on x86-64, NEON on aarch64).
 *
 * The choice is a variant number read by each kernel, which indexes its
 * own table of function pointers.  MrSimdForce (the movierec.scan_kernel
 * setting, unit tests, benchmarks) switches to any supported variant; a
 * variant the CPU lacks is refused, never run.  The environment variable
 * MR_SCAN_KERNEL (a variant name) forces the first choice outside the
 * server (benchmarks); an unsupported one is ignored.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "simd_dispatch.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#define MR_X86 1
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#endif

MrSimd		mr_simd_current = MR_SIMD_PORTABLE;
bool		mr_simd_ready = false;

static bool detected = false;
static bool supported[MR_SIMD_COUNT];
static bool have_fma = false;
static char supported_list[128];

static const char *const names[MR_SIMD_COUNT] = {
	"portable", "neon", "avx2", "avx512f", "avx512bf16"
};

#ifdef MR_X86
/* True if the OS saves the register state named by mask (XCR0 bits). */
static bool
os_saves(unsigned int mask)
{
	unsigned int eax,
				edx;

	__asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
	(void) edx;
	return (eax & mask) == mask;
}
#endif

/* Fill supported[] from CPUID/XGETBV or HWCAP (once). */
static void
detect(void)
{
	int			v;

	if (detected)
		return;
	memset(supported, 0, sizeof(supported));
	supported[MR_SIMD_PORTABLE] = true;
#ifdef MR_X86
	{
		unsigned int a,
					b,
					c,
					d;

		if (__get_cpuid(1, &a, &b, &c, &d))
		{
			bool		fma = (c >> 12) & 1;
			bool		osxsave = (c >> 27) & 1;
			bool		avx = (c >> 28) & 1;
			bool		ymm = osxsave && avx && os_saves(0x6);
			bool		zmm = ymm && os_saves(0xe6);

			have_fma = fma && ymm;
			if (ymm && __get_cpuid_count(7, 0, &a, &b, &c, &d))
			{
				bool		avx2 = (b >> 5) & 1;
				bool		avx512f = (b >> 16) & 1;
				bool		avx512bw = (b >> 30) & 1;
				bool		avx512vnni = (c >> 11) & 1;

				supported[MR_SIMD_AVX2] = avx2 && fma;
				/* the integer pass needs AVX512BW (every AVX-512 CPU since Skylake-SP) */
				supported[MR_SIMD_AVX512F] = avx512f && avx512bw && zmm;
				/* and VPDPWSSD (AVX512_VNNI, which every AVX512_BF16 CPU has) */
				if (supported[MR_SIMD_AVX512F] && avx512vnni && a >= 1 &&
					__get_cpuid_count(7, 1, &a, &b, &c, &d))
					supported[MR_SIMD_AVX512BF16] = (a >> 5) & 1;
			}
		}
	}
#endif
#if defined(__aarch64__)
	supported[MR_SIMD_NEON] = (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
	have_fma = true;			/* FMADD is part of the base ISA */
#endif
	supported_list[0] = '\0';
	for (v = MR_SIMD_COUNT - 1; v >= 0; v--)
		if (supported[v])
		{
			if (supported_list[0])
				strcat(supported_list, ", ");
			strcat(supported_list, names[v]);
		}
	detected = true;
}

/* Choose the best variant once (or MR_SCAN_KERNEL's, if supported). */
void
MrSimdInitOnce(void)
{
	const char *env = getenv("MR_SCAN_KERNEL");
	int			v = env ? MrSimdFromName(env) : -1;

	detect();
	mr_simd_current = (v >= 0 && supported[v]) ? (MrSimd) v : MrSimdBest();
	mr_simd_ready = true;
}

/* Name of a variant. */
const char *
MrSimdName(MrSimd v)
{
	return (v >= 0 && v < MR_SIMD_COUNT) ? names[v] : "unknown";
}

/* Variant of a name, or -1. */
int
MrSimdFromName(const char *name)
{
	int			v;

	for (v = 0; v < MR_SIMD_COUNT; v++)
		if (strcmp(name, names[v]) == 0)
			return v;
	return -1;
}

/* True when the CPU and OS support variant v. */
bool
MrSimdSupported(MrSimd v)
{
	detect();
	return v >= 0 && v < MR_SIMD_COUNT && supported[v];
}

/* The widest supported variant. */
MrSimd
MrSimdBest(void)
{
	int			v;

	detect();
	for (v = MR_SIMD_COUNT - 1; v > 0; v--)
		if (supported[v])
			return (MrSimd) v;
	return MR_SIMD_PORTABLE;
}

/* Use variant v if supported. */
bool
MrSimdForce(MrSimd v)
{
	if (!MrSimdSupported(v))
		return false;
	mr_simd_current = v;
	mr_simd_ready = true;
	return true;
}

/* Back to the best variant. */
void
MrSimdAuto(void)
{
	mr_simd_current = MrSimdBest();
	mr_simd_ready = true;
}

/* The supported variants, widest first. */
const char *
MrSimdSupportedList(void)
{
	detect();
	return supported_list;
}

/* True when the CPU has scalar FMA usable by the OS. */
bool
MrSimdHaveFma(void)
{
	detect();
	return have_fma;
}
