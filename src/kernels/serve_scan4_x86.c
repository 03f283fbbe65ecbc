/*
 * serve_scan4_x86.c: the x86-64 variants of the int4 pass (serve_scan4.c
 * has the design and the layout).
 *
 * A 32-byte row of a panel is 16 items times one factor quad: its low
 * nibbles are items 0-7, its high nibbles items 8-15, each a byte 0..15
 * after a mask (and a shift).  Unsigned bytes times the user's signed
 * bytes, neighbours added:
 *   avx512bf16  VPDPBUSD (AVX512_VNNI, which every BF16 CPU has) adds each
 *               quad's four products into an int32 lane, two quads per
 *               64-byte load: one sum of the whole bytes (low nibble +
 *               16 x high) and one of the high nibbles masked in place
 *               (16 x high), so the low ones are the difference;
 *   avx512f     VPMADDUBSW into int16 pairs (AVX512BW), summed for 8
 *               steps (at most 8 x 2 x 15 x 127 = 30,480, no saturation),
 *               then VPMADDWD by ones into int32;
 *   avx2        the same on 256 bits, one quad per load, two panels per
 *               step.
 * The exact sum less corr goes through the int8 pass's float finish
 * (scan_finish_x86.h), so all variants give the same bits.
 */
#include "scan_variants.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "scan_finish_x86.h"

/* Loads of a row per int16 flush: 8 x 3,810 fits int16. */
#define FLUSH_STEPS 8

/* The bytes 0..15 of the low and high nibbles of x. */
#define LO4_256(x)	_mm256_and_si256((x), _mm256_set1_epi8(0x0F))
#define HI4_256(x)	_mm256_and_si256(_mm256_srli_epi16((x), 4), _mm256_set1_epi8(0x0F))
#define LO4_512(x)	_mm512_and_si512((x), _mm512_set1_epi8(0x0F))
#define HI4_512(x)	_mm512_and_si512(_mm512_srli_epi16((x), 4), _mm512_set1_epi8(0x0F))

/*
 * AVX2: two panels per step (four accumulators: items 0-7 and 8-15 of
 * each), int16 sums flushed to int32 every FLUSH_STEPS quads.
 */
__attribute__((target("avx2,fma")))
MR_NO_CONTRACT
void
MrApprox4Avx2(const uint8_t *q4, const float *scale, int32_t n, int k,
			  const MrQuery4 *q, const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kq = MrK4Pad(k) / 4;
	size_t		stride = (size_t) kq * 32;
	const __m256i ones = _mm256_set1_epi16(1),
				corr = _mm256_set1_epi32(q->corr);
	size_t		b;

	for (b = 0; b < panels; b += 2)
	{
		int			two = (b + 1 < panels);
		const uint8_t *s0 = q4 + b * stride;
		const uint8_t *s1 = two ? s0 + stride : s0;
		__m256i		a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
							_mm256_setzero_si256(), _mm256_setzero_si256()};
		int			g0,
					t;

		for (g0 = 0; g0 < kq; g0 += FLUSH_STEPS)
		{
			__m256i		c0 = _mm256_setzero_si256(),
						c1 = c0,
						c2 = c0,
						c3 = c0;
			int			g,
						ge = (g0 + FLUSH_STEPS < kq) ? g0 + FLUSH_STEPS : kq;

			for (g = g0; g < ge; g++)
			{
				__m256i		pv = _mm256_set1_epi32(q->quad[g]),
							x0 = _mm256_load_si256((const __m256i *) (s0 + 32 * (size_t) g)),
							x1 = _mm256_load_si256((const __m256i *) (s1 + 32 * (size_t) g));

				c0 = _mm256_add_epi16(c0, _mm256_maddubs_epi16(LO4_256(x0), pv));
				c1 = _mm256_add_epi16(c1, _mm256_maddubs_epi16(HI4_256(x0), pv));
				c2 = _mm256_add_epi16(c2, _mm256_maddubs_epi16(LO4_256(x1), pv));
				c3 = _mm256_add_epi16(c3, _mm256_maddubs_epi16(HI4_256(x1), pv));
			}
			a[0] = _mm256_add_epi32(a[0], _mm256_madd_epi16(c0, ones));
			a[1] = _mm256_add_epi32(a[1], _mm256_madd_epi16(c1, ones));
			a[2] = _mm256_add_epi32(a[2], _mm256_madd_epi16(c2, ones));
			a[3] = _mm256_add_epi32(a[3], _mm256_madd_epi16(c3, ones));
		}
		for (t = 0; t < (two ? 4 : 2); t++)
		{
			size_t		base = b * MR_PANEL + 8 * (size_t) t;

			finish8(_mm256_sub_epi32(a[t], corr), q->sp, scale, bias, y, base,
					(long) n - (long) base);
		}
	}
}

/* int16 pairs into the int16 sums (AVX512BW); high nibbles as 0..15. */
#define STEP_BW(c, x, pv)	_mm512_add_epi16((c), _mm512_maddubs_epi16((x), (pv)))
#define FLUSH_BW(a, c)		_mm512_add_epi32((a), _mm512_madd_epi16((c), _mm512_set1_epi16(1)))
#define HI_BW(x)			HI4_512(x)
/*
 * Whole quads into int32 at once (AVX512_VNNI), whose sums do not
 * saturate: the flush is an add; the "low" sum takes the whole bytes and
 * the high nibbles are multiplied in place (x & 0xF0 is 16 times the
 * nibble), so finish_panel subtracts the second sum from the first and
 * shifts it back (exact: multiples of 16, at most 256 x 4 x 255 x 127).
 * One mask per load instead of two.
 */
#define STEP_VNNI(c, x, pv) _mm512_dpbusd_epi32((c), (x), (pv))
#define FLUSH_VNNI(a, c)	_mm512_add_epi32((a), (c))
#define HI_VNNI(x)			_mm512_and_si512((x), _mm512_set1_epi8((char) 0xF0))
#define LO_VNNI(x)			(x)
#define LO_BW(x)			LO4_512(x)

/*
 * The 16 sums of a panel from its two accumulators (lanes: items 0-7 of
 * quad g, then of quad g + 1; low nibbles in lo, high ones in hi), less
 * corr, through finish16.  With hi_shift (VNNI), hi is 16 times the high
 * nibbles' sum and lo the whole bytes': lo - hi, then hi >> hi_shift.
 */
__attribute__((target("avx512f")))
MR_NO_CONTRACT
static inline void
finish_panel(__m512i lo, __m512i hi, int hi_shift, const MrQuery4 *q, const float *scale,
			 const float *bias, float *y, size_t base, int32_t n)
{
	__m256i		l = _mm256_add_epi32(_mm512_castsi512_si256(lo), _mm512_extracti64x4_epi64(lo, 1)),
				h = _mm256_add_epi32(_mm512_castsi512_si256(hi), _mm512_extracti64x4_epi64(hi, 1));

	if (hi_shift)				/* l summed whole bytes: low nibble + 16 x high */
		l = _mm256_sub_epi32(l, h);
	h = _mm256_srai_epi32(h, hi_shift);
	finish16(_mm512_sub_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(l), h, 1),
							  _mm512_set1_epi32(q->corr)),
			 q->sp, scale, bias, y, base, (long) n - (long) base);
}

/* One load of panel row r into the sums cl and ch. */
#define NIBBLES(cl, ch, r, pvg, STEP, LO, HI) \
	do { \
		__m512i		x_ = _mm512_load_si512((const void *) (r)); \
\
		cl = STEP(cl, LO(x_), pvg); \
		ch = STEP(ch, HI(x_), pvg); \
	} while (0)

/*
 * One AVX-512 int4 pass, NAME for TARGET with STEP, FLUSH and HI (the high
 * nibbles' sums shifted right by HI_SHIFT): four panels per step, eight
 * independent sums, so that VPDPBUSD's latency is hidden; then single
 * panels.  Two quads per 64-byte load.  The user's quads are spread to 64
 * bytes once per call.
 */
#define DEFINE_APPROX4_512(NAME, TARGET, STEP, FLUSH, LO, HI, HI_SHIFT) \
__attribute__((target(TARGET))) \
MR_NO_CONTRACT \
void \
NAME(const uint8_t *q4, const float *scale, int32_t n, int k, \
	 const MrQuery4 *q, const float *bias, float *y) \
{ \
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL; \
	int			kq = MrK4Pad(k) / 4; \
	size_t		stride = (size_t) kq * 32; \
	__m512i		pv[MR_SERVE_SCAN_MAX_K / 8 + 1], \
				z = _mm512_setzero_si512(); \
	size_t		b = 0; \
	int			g, \
				g0; \
\
	for (g = 0; g < kq; g += 2) \
		pv[g / 2] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(q->quad[g])), \
									   _mm256_set1_epi32(q->quad[g + 1]), 1); \
	for (; b + 4 <= panels; b += 4) \
	{ \
		const uint8_t *s = q4 + b * stride; \
		__m512i		l0 = z, l1 = z, l2 = z, l3 = z, h0 = z, h1 = z, h2 = z, h3 = z; \
\
		for (g0 = 0; g0 < kq; g0 += 2 * FLUSH_STEPS) \
		{ \
			__m512i		cl0 = z, cl1 = z, cl2 = z, cl3 = z, ch0 = z, ch1 = z, ch2 = z, ch3 = z; \
			int			ge = (g0 + 2 * FLUSH_STEPS < kq) ? g0 + 2 * FLUSH_STEPS : kq; \
\
			for (g = g0; g < ge; g += 2) \
			{ \
				const uint8_t *r = s + 32 * (size_t) g; \
\
				NIBBLES(cl0, ch0, r, pv[g / 2], STEP, LO, HI); \
				NIBBLES(cl1, ch1, r + stride, pv[g / 2], STEP, LO, HI); \
				NIBBLES(cl2, ch2, r + 2 * stride, pv[g / 2], STEP, LO, HI); \
				NIBBLES(cl3, ch3, r + 3 * stride, pv[g / 2], STEP, LO, HI); \
			} \
			l0 = FLUSH(l0, cl0); l1 = FLUSH(l1, cl1); l2 = FLUSH(l2, cl2); l3 = FLUSH(l3, cl3); \
			h0 = FLUSH(h0, ch0); h1 = FLUSH(h1, ch1); h2 = FLUSH(h2, ch2); h3 = FLUSH(h3, ch3); \
		} \
		finish_panel(l0, h0, HI_SHIFT, q, scale, bias, y, b * MR_PANEL, n); \
		finish_panel(l1, h1, HI_SHIFT, q, scale, bias, y, (b + 1) * MR_PANEL, n); \
		finish_panel(l2, h2, HI_SHIFT, q, scale, bias, y, (b + 2) * MR_PANEL, n); \
		finish_panel(l3, h3, HI_SHIFT, q, scale, bias, y, (b + 3) * MR_PANEL, n); \
	} \
	for (; b < panels; b++) \
	{ \
		const uint8_t *s = q4 + b * stride; \
		__m512i		l0 = z, h0 = z; \
\
		for (g0 = 0; g0 < kq; g0 += 2 * FLUSH_STEPS) \
		{ \
			__m512i		cl0 = z, ch0 = z; \
			int			ge = (g0 + 2 * FLUSH_STEPS < kq) ? g0 + 2 * FLUSH_STEPS : kq; \
\
			for (g = g0; g < ge; g += 2) \
				NIBBLES(cl0, ch0, s + 32 * (size_t) g, pv[g / 2], STEP, LO, HI); \
			l0 = FLUSH(l0, cl0); \
			h0 = FLUSH(h0, ch0); \
		} \
		finish_panel(l0, h0, HI_SHIFT, q, scale, bias, y, b * MR_PANEL, n); \
	} \
}

/* AVX-512BW: VPMADDUBSW, flushed through VPMADDWD. */
DEFINE_APPROX4_512(MrApprox4Avx512, "avx512f,avx512bw", STEP_BW, FLUSH_BW, LO_BW, HI_BW, 0)

/* AVX512_VNNI: one VPDPBUSD per nibble half and load. */
DEFINE_APPROX4_512(MrApprox4Avx512Vnni, "avx512f,avx512bw,avx512vnni", STEP_VNNI, FLUSH_VNNI,
				   LO_VNNI, HI_VNNI, 4)

#endif
