/*
 * params_check.h: the rules of train()'s params, in plain C.
 *
 * No PostgreSQL headers.  One table (MrParamDefs) lists every key: its
 * type, its valid range and the algorithms that use it.  MrParamsApply
 * reads a params object as JSON text and overrides an MrTrainParams with
 * it, key by key, checking each against the table; the glue
 * (train_params.c) hands it the jsonb as text, turns a failure into the
 * error the user sees, and formats hints and the stored params from the
 * same table.  test/fuzz/params.c fuzzes MrParamsApply.
 */
#ifndef MR_PARAMS_CHECK_H
#define MR_PARAMS_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "mf.h"

/* algorithm bits */
#define MR_ALG_POPULARITY	0x01
#define MR_ALG_BASELINE		0x02
#define MR_ALG_ALS			0x04
#define MR_ALG_SVD			0x08
#define MR_ALG_IALS			0x10
#define MR_ALG_EASE			0x20
#define MR_ALG_BAYES		0x40

typedef enum MrParamType
{
	MR_P_INT,
	MR_P_NUM,
	MR_P_BOOL
} MrParamType;

typedef struct MrParamDef
{
	const char *key;
	MrParamType type;
	double		min;
	double		max;
	int			min_exclusive;	/* valid range is (min, max] */
	int			algorithms;		/* MR_ALG_* bits */
	size_t		offset;			/* in MrTrainParams */
} MrParamDef;

/* Every key (one row per key and range; the order of hints and stored params). */
extern const MrParamDef MrParamDefs[];
extern const int MrNParamDefs;

/* The MR_ALG_* bit of an algorithm name, or 0 if it names none. */
extern int	MrParamAlgorithmBit(const char *algorithm);

/* The definition of key (len bytes) for the algorithm bit, or NULL. */
extern const MrParamDef *MrParamFind(int bit, const char *key, size_t len);

/* True (1) for the one key stored as uint64_t (seed); the others are int or double. */
extern int	MrParamIsSeed(const MrParamDef *d);

typedef enum MrParamsStatus
{
	MR_PARAMS_OK = 0,
	MR_PARAMS_NOT_OBJECT,		/* the text is not a JSON object */
	MR_PARAMS_UNKNOWN_KEY,		/* a key the algorithm does not use */
	MR_PARAMS_BAD_VALUE,		/* wrong type, out of range, not an integer */
	MR_PARAMS_SYNTAX			/* not JSON */
} MrParamsStatus;

/* Where MrParamsApply stopped. */
typedef struct MrParamsError
{
	MrParamsStatus status;
	int			key_index;		/* 0-based ordinal of the key in the object, or -1 */
	const MrParamDef *def;		/* the key's definition (BAD_VALUE, SYNTAX in a value) */
	size_t		pos;			/* byte offset in the text */
} MrParamsError;

/*
 * Override *p with the params object in json[0..len) (json[len] must be
 * NUL) for the algorithm bit.  Members are checked left to right and the
 * first failure is returned; then *p is unchanged.  A value is checked
 * against the key's type and range; an integer key takes a number with no
 * fraction (as a double), seed any integer 0..2^63-1 exactly (rounded
 * half away from zero when the fraction is below double precision).
 * Duplicate keys: the last wins.
 */
extern MrParamsStatus MrParamsApply(int bit, const char *json, size_t len,
									MrTrainParams *p, MrParamsError *err);

#endif							/* MR_PARAMS_CHECK_H */
