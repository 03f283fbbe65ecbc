/*
 * scan_kernel.h: the movierec.scan_kernel setting (src/scan_kernel.c).
 */
#ifndef MR_SCAN_KERNEL_H
#define MR_SCAN_KERNEL_H

/* Define movierec.scan_kernel (called from _PG_init). */
extern void MrScanKernelInit(void);

#include "lib/stringinfo.h"

/* The variants this CPU supports, as a JSON array, for build_info(). */
extern void MrScanKernelsSupportedJson(StringInfo buf);

/* Name of the SIMD variant in use, for build_info(). */
extern const char *MrScanKernelInUse(void);

/* movierec.scan_prune: may recommend() use the norm-ordered scan? */
extern bool MrScanPruneEnabled(void);

/* movierec.scan_int4: may the full scan start from the int4 copy? */
extern bool MrScanInt4Enabled(void);

#endif							/* MR_SCAN_KERNEL_H */
