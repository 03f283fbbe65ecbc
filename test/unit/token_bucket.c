/*
 * Unit test of the rate limiter's token bucket (src/kernels/token_bucket.c):
 * a burst of N passes and the (N+1)th is refused with the right wait; the
 * refill rate; the cap at burst; a clock step backwards; a lowered burst.
 * Prints TAP.
 */
// sources: src/kernels/token_bucket.c
#include "token_bucket.h"

#include <math.h>
#include <stdio.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

int
main(void)
{
	MrTokenBucket b;
	int			i,
				passed = 0;
	double		w;
	int64_t		t = 1000000000;

	/* 10 a minute, burst 10: ten at once pass, the eleventh waits 6 s */
	MrTokenBucketInit(&b, 10, t);
	for (i = 0; i < 10; i++)
		passed += MrTokenBucketTake(&b, 10, 10, t) == 0.0;
	ok(passed == 10, "a burst of 10 passes");
	w = MrTokenBucketTake(&b, 10, 10, t);
	ok(fabs(w - 6.0) < 1e-9, "the 11th waits 6 s");
	ok(MrTokenBucketTake(&b, 10, 10, t + 3000000) > 0.0, "half a token after 3 s is not enough");
	w = MrTokenBucketTake(&b, 10, 10, t + 3000000);
	ok(fabs(w - 3.0) < 1e-6, "and the wait is then 3 s");
	ok(MrTokenBucketTake(&b, 10, 10, t + 6000000) == 0.0, "one token after 6 s");
	ok(MrTokenBucketTake(&b, 10, 10, t + 6000000) > 0.0, "and only one");

	/* a long idle time refills to burst, not beyond */
	t += 3600000000LL;
	passed = 0;
	for (i = 0; i < 20; i++)
		passed += MrTokenBucketTake(&b, 10, 10, t) == 0.0;
	ok(passed == 10, "an hour idle refills to burst only");

	/* a clock step backwards refills nothing */
	ok(MrTokenBucketTake(&b, 10, 10, t - 60000000) > 0.0, "time going backwards refills nothing");
	ok(MrTokenBucketTake(&b, 10, 10, t + 6000000) == 0.0, "and the clock goes on from the newest time");

	/* a lowered burst caps the tokens at once */
	MrTokenBucketInit(&b, 100, t);
	passed = 0;
	for (i = 0; i < 10; i++)
		passed += MrTokenBucketTake(&b, 60, 3, t) == 0.0;
	ok(passed == 3, "a lowered burst applies at the next request");

	/* a high rate: 600,000 a minute is 10 a millisecond */
	MrTokenBucketInit(&b, 1, t);
	ok(MrTokenBucketTake(&b, 600000, 1, t) == 0.0 && MrTokenBucketTake(&b, 600000, 1, t) > 0.0 &&
	   MrTokenBucketTake(&b, 600000, 1, t + 100) == 0.0, "600000 a minute refills a token in 100 us");

	printf("1..%d\n", n_test);
	return 0;
}
