/* rethink sweep's parts shared by its forked workers (cmd_sweep.c) and its MPI ranks
 * (sweep_mpi.c, built when Open MPI is found: RK_HAVE_MPI). CLI-only: the plan and the
 * schedule are the library's (include/rethink/sweep.h). */
#ifndef RETHINK_CLI_SWEEP_H
#define RETHINK_CLI_SWEEP_H

#include "run.h"

/* A library note (progress of a dataset build, of the dry run's timing) as a line on stderr. */
void sweep_say(void *ctx, const char *msg);
/* "[who] arm aug f=F s=S", the sweep's name for a trial in its output. */
void sweep_label(char *buf, size_t cap, const char *who, const rk_config *cfg);

/* How many processes mpirun started this one among (Open MPI's OMPI_COMM_WORLD_SIZE); 1
 * when not under mpirun. */
int sweep_mpi_size(void);

#ifdef RK_HAVE_MPI
/* MPI_Init (thread level serialized, errors returned). *rank: this process's rank. */
int sweep_mpi_init(int *rank, rk_err *err);
/* MPI_Finalize, unless a rank of the job died (rank_died): then nothing. */
void sweep_mpi_finalize(int rank_died);

/* Rank >= 1: asks rank 0 for trials and runs them until told to stop; never opens the
 * database. timeout_s: rank 0 silent this long is presumed dead (this rank then exits 1).
 * *rank_died: rank 0 said a rank died. Returns the exit code. */
int sweep_mpi_worker(const rk_sweep_plan *plan, double timeout_s, int *rank_died);

typedef struct sweep_mpi_plan {
    rk_store *db;           /* NULL: nothing to run; every rank is told to stop */
    const rk_sweep_plan *plan; /* registered (rk_sweep_register) */
    const rk_config *data;  /* built (in a thread) before trials are handed out; may be NULL */
    double timeout_s;       /* a rank silent this long is presumed dead */
    int quiet;
} sweep_mpi_plan;

/* Rank 0: hands trials to ranks 1..N-1 and records what they send, until every rank was
 * told to stop or presumed dead (*lost of them). Returns 0, or an error that stopped the
 * sweep (the store, the dataset). */
int sweep_mpi_coordinate(const sweep_mpi_plan *p, size_t *lost, rk_err *err);
#endif

#endif
