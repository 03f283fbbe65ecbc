/*
 * token_bucket.c: token-bucket arithmetic for the HTTP rate limiter.
 *
 * A bucket holds up to `burst` tokens and gains per_minute/60 tokens a
 * second, continuously (no fixed windows, so no double burst at a window
 * edge).  A request takes one token; with less than one token left it is
 * refused, takes nothing, and learns how long until a whole token is
 * there (that becomes the HTTP Retry-After header).  Time going backwards
 * (a clock step) refills nothing.  A change of the limits applies at the
 * next request: the tokens are capped at the new burst.
 */
#include "token_bucket.h"

/* A new bucket: full at time now_us. */
void
MrTokenBucketInit(MrTokenBucket *b, int burst, int64_t now_us)
{
	b->tokens = burst;
	b->last_us = now_us;
}

/* Refill, then take one token; 0 or the seconds to wait. */
double
MrTokenBucketTake(MrTokenBucket *b, int per_minute, int burst, int64_t now_us)
{
	double		rate = per_minute / 60.0e6;	/* tokens per microsecond */

	if (now_us > b->last_us)
	{
		b->tokens += (double) (now_us - b->last_us) * rate;
		b->last_us = now_us;
	}
	if (b->tokens > burst)
		b->tokens = burst;
	if (b->tokens >= 1.0)
	{
		b->tokens -= 1.0;
		return 0.0;
	}
	if (rate <= 0.0)
		return 60.0;
	return (1.0 - b->tokens) / rate / 1.0e6;
}
