/*
 * token_bucket.h: the token-bucket arithmetic of the HTTP rate limiter
 * (src/kernels/token_bucket.c).  Plain C, no PostgreSQL headers; the
 * shared-memory table around it is src/ratelimit.c.
 */
#ifndef MR_TOKEN_BUCKET_H
#define MR_TOKEN_BUCKET_H

#include <stdint.h>

typedef struct MrTokenBucket
{
	double		tokens;			/* tokens left, 0..burst */
	int64_t		last_us;		/* time of the last refill, microseconds */
} MrTokenBucket;

/* A new bucket: full (burst tokens) at time now_us. */
extern void MrTokenBucketInit(MrTokenBucket *b, int burst, int64_t now_us);

/*
 * Refill the bucket for the time since its last refill at
 * per_minute/60 tokens a second (never above burst), then take one token.
 * Returns 0 when a token was taken, else the seconds until one will be
 * there (> 0; the request is refused and takes nothing).
 */
extern double MrTokenBucketTake(MrTokenBucket *b, int per_minute, int burst, int64_t now_us);

#endif							/* MR_TOKEN_BUCKET_H */
