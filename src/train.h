/*
 * train.h: private declarations of movierec's training glue.
 *
 * The glue turns a call of movierec.train() into a kernel run: it
 * validates the parameters (train_params.c), reads the source into dense
 * MrRatings (train_read.c), runs a kernel from mf.h with an environment
 * that allocates from a dedicated memory context and checks for
 * interrupts (train.c), publishes progress (progress.c) and writes the
 * model in bulk (model_store_write.c).  Nothing here is used by the
 * kernels themselves.
 */
#ifndef MR_TRAIN_H
#define MR_TRAIN_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "mf.h"

/* GUC variables (train.c) */
extern bool mr_train_verbose;
extern int	mr_max_train_memory;	/* MB */
extern int	mr_train_threads;

/*
 * Memory of one training run: every big array is allocated here, and the
 * bytes in use are tracked so that the peak can be stored with the model
 * and the budget enforced as arrays grow.
 */
typedef struct MrTrainMem
{
	MemoryContext cxt;
	Size		in_use;			/* chunk space currently allocated */
	Size		peak;			/* maximum of in_use */
	Size		limit;			/* movierec.max_train_memory in bytes */
} MrTrainMem;

/* train.c: init (called from _PG_init) and the memory helpers */
extern void MrTrainInit(void);
extern void *MrTrainAlloc(MrTrainMem *mem, Size bytes);
extern void *MrTrainRealloc(MrTrainMem *mem, void *ptr, Size bytes);
extern void MrTrainFree(MrTrainMem *mem, void *ptr);
extern void MrTrainCheckBudget(MrTrainMem *mem, Size more, const char *what);

/* train_params.c: jsonb validation (algorithm names: mf_defaults.h) */
extern void MrResolveParams(const char *algorithm, Jsonb *given,
							MrTrainParams *out);
extern Jsonb *MrParamsToJsonb(const char *algorithm, const MrTrainParams *p);

/* train_read.c: a table or view into dense ratings and id maps */
typedef struct MrTrainData
{
	MrRatings	r;
	int64	   *user_ids;		/* dense index -> user id, ascending */
	int64	   *item_ids;		/* dense index -> movie id, ascending */
	float		rating_min;
	float		rating_max;
	double		rating_sum;
	double		read_seconds;
} MrTrainData;

extern void MrReadRatings(Oid relid, const char *user_col,
						  const char *item_col, const char *rating_col,
						  MrTrainMem *mem, MrTrainData *out);

/* model_store_write.c: the models row and the factor tables */
typedef struct MrModelRow
{
	const char *model_name;
	const char *algorithm;
	Jsonb	   *params;
	const char *source;
	const char *user_col;
	const char *item_col;
	const char *rating_col;
	double		train_seconds;
	double		read_seconds;
	int64		peak_memory_bytes;
} MrModelRow;

extern void MrCheckStorePrivileges(void);

/* train_bayes.c: the bayes algorithm's text params and implicit sets */
struct MrBayesStats;
extern char *MrBayesTakeParams(Jsonb *given, Jsonb **rest, Oid *implicit_relid);
extern void MrBayesReadImplicit(Oid relid, char *cols[3], const MrTrainData *data,
								MrTrainMem *mem, MrRatings *imp);
extern Jsonb *MrBayesParamsOut(Jsonb *params, const char *implicit_source,
							   const struct MrBayesStats *st);

/* train_snapshot.c */
extern char *MrTakeSnapshotParam(Jsonb *given, Jsonb **rest);
extern Oid	MrCopySnapshot(Oid source, char *cols[3]);
extern void MrCaptureReadStats(Oid source, char *cols[3]);
extern void MrForgetReadStats(void);
extern int64 MrStoreModel(const MrModelRow *row, const MrTrainData *data,
						  const MrFactors *f);

/* train_ease.c: the EASE hooks of train() */
extern void MrEaseCheckBudget(MrTrainMem *mem, const MrRatings *r,
							  const MrTrainParams *p);
extern double MrEaseRun(const MrRatings *r, const MrTrainParams *p,
						const MrKernelEnv *env, MrFactors *f);
extern void MrEaseStore(int64 model_id, const MrTrainData *data);

/* progress.c: shared-memory progress slots and NOTICEs */
extern void MrProgressShmemInit(void);
extern void MrProgressBegin(const char *model_name, const char *algorithm);
extern void MrProgressUpdate(const char *phase, int iteration, int of,
							 double loss);
extern void MrProgressEnd(void);

/* fault.c: named fault points for the reliability tests */
extern void MrFaultInit(void);
extern void MrFaultPoint(const char *name);
extern void MrFaultModelStored(void);

/*
 * First key of the advisory lock taken on a model name while its next
 * version is chosen ('mrec'; the second key is hashtext(name)).  The
 * training worker takes it before its REPEATABLE READ snapshot.
 */
#define MR_VERSION_LOCK_KEY	0x6d726563

#endif							/* MR_TRAIN_H */
