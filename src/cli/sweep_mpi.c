/* rethink sweep under mpirun: rank 0 coordinates, ranks 1..N-1 run trials.
 *
 * Rank 0 is the only process that opens the database. It registers the plan exactly as a
 * single-machine sweep does (cmd_sweep.c), then serves. A rank that asks for work gets the
 * next runnable trial from rk_sweep_take — the store's acquire, so dependency order, leases
 * and attempt budgets are the store's — recorded under the rank's own "host:pid/rank R", so a
 * later sweep on that host reclaims it like a dead forked worker's. The rank runs it
 * (run_trial_with, the trial runner of `rethink train`) and sends its per-epoch metrics and
 * its outcome (with the artifacts it made and used) back; rank 0 writes them under the lease
 * (rk_store_metrics_add, rk_store_trial_artifacts_put, rk_store_trial_finish / _fail). A rank with nothing runnable now is told to ask again in a
 * second; when nothing is left, all ranks are told to stop together once all have asked.
 *
 * A dead rank loses only its trial. Every worker rank sends a heartbeat every BEAT_S seconds
 * from a thread, busy or idle, and rank 0 acknowledges each. Rank 0 presumes a rank silent
 * for timeout_s dead: its trial is failed with retry (back to pending, one attempt used) and
 * is handed to another rank; the rank gets no more work. A rank presumed dead that was only
 * slow is harmless: its lease is gone, so the store refuses what it sends (RK_STORE_LOST).
 * A worker that hears nothing from rank 0 for timeout_s exits, so a job whose coordinator
 * died ends instead of hanging. Open MPI (4.1) itself aborts the whole job when any rank dies
 * unless mpirun is given --enable-recovery (docs/EXPERIMENTS.md §MPI); without it, running
 * the same command again resumes as after any stop.
 *
 * Invariants: after MPI_Init no collective operation (one with a dead rank would hang); MPI
 * errors are returned, not fatal; rank 0 sends only answers and acknowledgements, i.e. only
 * to a rank that just sent something. Messages are C structs sent as bytes: every rank runs
 * the same binary on the same architecture. Waiting is MPI_Test/MPI_Iprobe with short
 * sleeps, because Open MPI's blocking calls spin a core that the trials need; a worker never
 * blocks inside MPI at all (a send to a dead rank 0 may never complete), and its two threads
 * share MPI under one mutex (MPI_THREAD_SERIALIZED). */
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep.h"

#define BEAT_S 2.0 /* a worker's heartbeat period */
#define POLL_US 2000

enum { TAG_ASK = 1, TAG_ANSWER, TAG_BEAT, TAG_ACK, TAG_METRICS, TAG_RESULT };
enum { ANSWER_TRIAL = 1, ANSWER_WAIT, ANSWER_STOP };

typedef struct {
    int pid;
    char host[64];
} msg_ask;

typedef struct {
    int what; /* ANSWER_* */
    int attempt;
    int64_t id;
    char hash[65];
    char lost; /* with ANSWER_STOP: a rank died, so exit without MPI_Finalize */
} msg_answer;

/* a heartbeat (id 0: idle), and the header of a metrics message (then rk_metric[n]) */
typedef struct {
    int64_t id;
    int attempt;
} msg_lease;

/* then rk_category_ap[ncats], then rk_artifact_use[nart] (what the trial made and used) */
typedef struct {
    int64_t id;
    int attempt, rc; /* rc != 0: failed with error */
    double stats[RK_COCO_NSTATS];
    double wall_s, cpu_s, flops, teacher_cpu_s, pseudo_cpu_s;
    int64_t images, steps, max_steps;
    uint32_t ncats, nart;
    char data_hash[65];
    char stop_reason[16], precision[16], cpu[128];
    char error[512];
} msg_result;

int sweep_mpi_init(int *rank, rk_err *err)
{
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return rk_errf(err, RK_EIO, "MPI_Init_thread failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    if (provided < MPI_THREAD_SERIALIZED) {
        MPI_Finalize();
        return rk_errf(err, RK_EIO, "this MPI library gives thread level %d, the sweep needs "
                       "MPI_THREAD_SERIALIZED (%d)", provided, MPI_THREAD_SERIALIZED);
    }
    return 0;
}

/* MPI_Finalize ends with a fence over every rank of the job. With a dead rank, Open MPI 4.1.4
 * sometimes never completes it (measured: ranks 0 and 1 of 3 hang in it when rank 2 was
 * killed; not when rank 1 was), so after a death the survivors exit without it, which mpirun
 * --enable-recovery accepts (exit status 0). */
void sweep_mpi_finalize(int rank_died)
{
    if (!rank_died) MPI_Finalize();
}

/* ---- worker ranks ---- */

typedef struct {
    pthread_mutex_t mpi;  /* every MPI call of this process */
    pthread_mutex_t mu;   /* the fields below */
    pthread_cond_t cv;
    msg_lease cur;        /* the trial being run (id 0: none) */
    double heard;         /* last message from rank 0 */
    double timeout_s;
    int rank, stop;
} worker_ctx;

/* Waits for r, taking the MPI lock only to test it, so the other thread keeps its turn. */
static int wait_req(worker_ctx *w, MPI_Request *r)
{
    int rc = MPI_SUCCESS;
    for (int done = 0; rc == MPI_SUCCESS && !done;) {
        pthread_mutex_lock(&w->mpi);
        rc = MPI_Test(r, &done, MPI_STATUS_IGNORE);
        pthread_mutex_unlock(&w->mpi);
        if (!done) usleep(POLL_US);
    }
    return rc;
}

/* Sends to rank 0. Never blocks inside MPI: a send to a dead rank 0 may never complete
 * (seen: MPI_Send spinning forever once rank 0 was killed), and the heartbeat thread must
 * still get the lock to notice that rank 0 went silent. */
static int send0(worker_ctx *w, const void *buf, size_t n, int tag)
{
    MPI_Request r;
    pthread_mutex_lock(&w->mpi);
    int rc = MPI_Isend(buf, (int)n, MPI_BYTE, 0, tag, MPI_COMM_WORLD, &r);
    pthread_mutex_unlock(&w->mpi);
    return rc == MPI_SUCCESS ? wait_req(w, &r) : rc;
}

/* Every BEAT_S: exits if rank 0 has been silent for timeout_s, else sends a heartbeat (one
 * in flight at most) and takes rank 0's acknowledgements. */
static void *beat_main(void *p)
{
    worker_ctx *w = p;
    msg_lease beat = {0, 0};
    MPI_Request sent = MPI_REQUEST_NULL; /* beat, while in flight */
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(BEAT_S * 1e9);
        ts.tv_sec += ts.tv_nsec / 1000000000L, ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        if (w->stop) break;
        double silent = rk_now() - w->heard;
        if (silent > w->timeout_s) {
            fprintf(stderr, "rethink sweep: rank %d: nothing from rank 0 for %.0f s: presumed "
                            "dead; stopping (run the sweep again to resume)\n", w->rank, silent);
            _exit(1); /* this rank writes nothing: there is nothing to save */
        }
        msg_lease cur = w->cur;
        pthread_mutex_unlock(&w->mu);
        int acks = 0, done = 0;
        pthread_mutex_lock(&w->mpi);
        MPI_Test(&sent, &done, MPI_STATUS_IGNORE); /* done at once if none in flight */
        if (done) {
            beat = cur;
            MPI_Isend(&beat, sizeof beat, MPI_BYTE, 0, TAG_BEAT, MPI_COMM_WORLD, &sent);
        }
        for (int flag = 1; flag;) {
            MPI_Iprobe(0, TAG_ACK, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
            if (flag) { /* a probed 1-byte message: the receive completes at once */
                char b;
                MPI_Recv(&b, 1, MPI_BYTE, 0, TAG_ACK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                acks++;
            }
        }
        pthread_mutex_unlock(&w->mpi);
        pthread_mutex_lock(&w->mu);
        if (acks) w->heard = rk_now();
    }
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_lock(&w->mpi);
    if (sent != MPI_REQUEST_NULL) MPI_Request_free(&sent); /* completes on its own */
    pthread_mutex_unlock(&w->mpi);
    return NULL;
}

static int send_metrics(void *ctx, int64_t id, int attempt, const rk_metric *m, size_t n,
                        rk_err *err)
{
    worker_ctx *w = ctx;
    size_t bytes = sizeof(msg_lease) + n * sizeof *m;
    char *buf = malloc(bytes);
    if (!buf) return rk_errf(err, RK_ENOMEM, "out of memory");
    msg_lease h = {id, attempt};
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, m, n * sizeof *m);
    int rc = send0(w, buf, bytes, TAG_METRICS);
    free(buf);
    return rc == MPI_SUCCESS ? 0 : rk_errf(err, RK_EIO, "sending metrics to rank 0 failed");
}

/* Asks rank 0 for work and waits for the answer. */
static int ask(worker_ctx *w, msg_answer *a)
{
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    msg_ask q = {(int)getpid(), ""};
    memcpy(q.host, host, sizeof q.host);
    MPI_Request r;
    int rc = send0(w, &q, sizeof q, TAG_ASK);
    if (rc == MPI_SUCCESS) {
        pthread_mutex_lock(&w->mpi);
        rc = MPI_Irecv(a, sizeof *a, MPI_BYTE, 0, TAG_ANSWER, MPI_COMM_WORLD, &r);
        pthread_mutex_unlock(&w->mpi);
    }
    if (rc == MPI_SUCCESS) rc = wait_req(w, &r);
    if (rc != MPI_SUCCESS) return rc;
    pthread_mutex_lock(&w->mu);
    w->heard = rk_now();
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void result_fill(msg_result *m, const rk_trial_outcome *o)
{
    memcpy(m->stats, o->stats, sizeof m->stats);
    m->wall_s = o->wall_s, m->cpu_s = o->cpu_s, m->flops = o->flops;
    m->teacher_cpu_s = o->teacher_cpu_s, m->pseudo_cpu_s = o->pseudo_cpu_s;
    m->images = o->images;
    m->ncats = (uint32_t)o->ncats;
    snprintf(m->data_hash, sizeof m->data_hash, "%s", o->data_hash ? o->data_hash : "");
    m->steps = o->steps, m->max_steps = o->max_steps;
    snprintf(m->stop_reason, sizeof m->stop_reason, "%s", o->stop_reason ? o->stop_reason : "");
    snprintf(m->precision, sizeof m->precision, "%s", o->precision ? o->precision : "");
    snprintf(m->cpu, sizeof m->cpu, "%s", o->cpu ? o->cpu : "");
}

/* Runs one trial and sends its outcome (or its error) to rank 0; non-zero if that failed. */
static int run_one(worker_ctx *w, const rk_sweep_plan *p, const msg_answer *a)
{
    rk_err err = {0};
    rk_trial t = {.id = a->id, .attempts = a->attempt, .status = RK_TRIAL_RUNNING};
    memcpy(t.config_hash, a->hash, sizeof t.config_hash);
    int k = rk_sweep_find(p, a->hash), ran = 0;
    rk_trial_result res;
    rk_trial_outcome o = {0};
    rk_category_ap *cats = NULL;
    int rc = k < 0 ? rk_errf(&err, RK_EINVAL, "trial %.16s is not in this rank's grid (every "
                             "rank must run the same experiment file and options)", a->hash)
                   : 0;
    if (!rc) {
        char label[128], who[16];
        snprintf(who, sizeof who, "rank %d", w->rank);
        sweep_label(label, sizeof label, who, &p->t[k].cfg);
        pthread_mutex_lock(&w->mu);
        w->cur = (msg_lease){a->id, a->attempt};
        pthread_mutex_unlock(&w->mu);
        rc = run_trial_with(send_metrics, w, &t, &p->t[k].cfg, label, NULL, &res, &err);
        ran = !rc;
        if (!rc) rc = rk_sweep_outcome(&res, &o, &cats, &err);
        rk_metric fm[RK_SWEEP_FINAL_METRICS]; /* as rk_sweep_finish: these, then the outcome */
        size_t nfm = rc ? 0 : rk_sweep_final_metrics(&res, fm);
        if (nfm) rc = send_metrics(w, a->id, a->attempt, fm, nfm, &err);
    }
    size_t nc = rc ? 0 : o.ncats, na = rc ? 0 : res.nart;
    size_t bytes = sizeof(msg_result) + nc * sizeof(rk_category_ap) + na * sizeof(rk_artifact_use);
    char *buf = calloc(1, bytes);
    int sent = RK_ENOMEM;
    if (buf) {
        msg_result *m = (msg_result *)buf;
        m->id = a->id, m->attempt = a->attempt, m->rc = rc;
        if (rc) snprintf(m->error, sizeof m->error, "%s", err.msg);
        else result_fill(m, &o);
        m->nart = (uint32_t)na;
        if (nc) memcpy(buf + sizeof *m, cats, nc * sizeof *cats);
        if (na) memcpy(buf + sizeof *m + nc * sizeof *cats, res.art, na * sizeof *res.art);
        sent = send0(w, buf, bytes, TAG_RESULT) == MPI_SUCCESS ? 0 : RK_EIO;
    }
    free(buf);
    free(cats);
    if (ran) rk_trial_result_free(&res);
    pthread_mutex_lock(&w->mu);
    w->cur = (msg_lease){0, 0};
    pthread_mutex_unlock(&w->mu);
    return sent;
}

int sweep_mpi_worker(const rk_sweep_plan *plan, double timeout_s, int *rank_died)
{
    worker_ctx w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                    PTHREAD_COND_INITIALIZER, {0, 0}, rk_now(), timeout_s, 0, 0};
    MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
    int rank = w.rank;
    pthread_t th;
    if (pthread_create(&th, NULL, beat_main, &w)) {
        fprintf(stderr, "rethink sweep: rank %d: cannot start the heartbeat thread\n", rank);
        return 1;
    }
    int rc = 0;
    for (;;) {
        msg_answer a;
        if (ask(&w, &a)) {
            fprintf(stderr, "rethink sweep: rank %d: asking rank 0 for work failed\n", rank);
            rc = 1;
            break;
        }
        if (a.what == ANSWER_STOP) {
            *rank_died = a.lost;
            break;
        }
        if (a.what == ANSWER_WAIT) {
            sleep(1); /* waiting for a teacher or for trials held by others */
            continue;
        }
        if (run_one(&w, plan, &a)) {
            fprintf(stderr, "rethink sweep: rank %d: sending trial %lld's outcome to rank 0 "
                            "failed\n", rank, (long long)a.id);
            rc = 1;
            break;
        }
    }
    pthread_mutex_lock(&w.mu);
    w.stop = 1;
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
    pthread_join(th, NULL);
    return rc;
}

/* ---- rank 0 ---- */

enum { RANK_ACTIVE = 0, RANK_STOPPED, RANK_LOST };

typedef struct {
    int state;
    int parked;        /* asked while stopping: answered once every live rank has asked */
    int retired;       /* its trial was interrupted (out of disk or memory): no more work */
    double heard;      /* last message from it */
    char name[128];    /* "host:pid/rank R": trials.worker */
    char host[64];
    msg_lease cur;     /* the trial it was given (id 0: none) */
    int k;             /* its index in the plan */
    double beat_db;    /* when its trial's heartbeat was last written */
} rank_info;

typedef struct {
    const sweep_mpi_plan *p;
    rank_info *r;      /* [size], 0 unused */
    int size;
    int stopping;      /* nothing (more) to run: every asking rank is told to stop */
    atomic_int data_done;  /* the data thread's data_rc and data_err are set */
    int data_rc;
    rk_err data_err;
    size_t lost;
    rk_err err;        /* the error that set stopping */
    int rc;
} coord;

static void answer(int rank, const msg_answer *a)
{
    MPI_Send(a, sizeof *a, MPI_BYTE, rank, TAG_ANSWER, MPI_COMM_WORLD);
}

/* the dataset, built while rank 0 answers "wait" */
static void *data_main(void *p)
{
    coord *c = p;
    c->data_rc = rk_trial_prepare_data(c->p->data, sweep_say, NULL, &c->data_err);
    atomic_store(&c->data_done, 1);
    return NULL;
}

static void fatal(coord *c, const rk_err *e)
{
    if (!c->rc) c->err = *e, c->rc = e->rc ? e->rc : 1;
    c->stopping = 1;
}

static void on_ask(coord *c, int src, const msg_ask *q)
{
    rank_info *ri = &c->r[src];
    msg_answer a = {ANSWER_STOP, 0, 0, "", 1};
    if (ri->state == RANK_LOST) { /* it was only slow: its lease is gone already */
        answer(src, &a);
        return;
    }
    if (c->stopping || ri->retired) {
        ri->parked = 1;
        return;
    }
    snprintf(ri->host, sizeof ri->host, "%.63s", q->host);
    snprintf(ri->name, sizeof ri->name, "%s:%d/rank %d", ri->host, q->pid, src);
    if (!atomic_load(&c->data_done)) {
        a.what = ANSWER_WAIT;
        answer(src, &a);
        return;
    }
    const sweep_mpi_plan *p = c->p;
    rk_acquire_opts o = {.study = p->plan->study, .worker = ri->name, .host = ri->host,
                         .git_rev = cli_git_rev()};
    rk_trial t = {0};
    rk_err err = {0};
    int got = 0, k = -1, left = 0;
    if (rk_sweep_take(p->db, p->plan, &o, &t, &got, &k, &left, &err)) {
        fatal(c, &err);
    } else if (got) {
        a = (msg_answer){ANSWER_TRIAL, t.attempts, t.id, "", 0};
        memcpy(a.hash, t.config_hash, sizeof a.hash);
        ri->cur = (msg_lease){t.id, t.attempts};
        ri->k = k; /* the plan's: rk_sweep_take never hands out another sweep's trial */
        ri->beat_db = rk_now();
        rk_trial_clear(&t);
        answer(src, &a);
        return;
    }
    rk_trial_clear(&t);
    if (!left) c->stopping = 1; /* nothing of ours is pending or running: all done */
    if (c->stopping) {
        ri->parked = 1;
        return;
    }
    a.what = ANSWER_WAIT;
    answer(src, &a);
}

/* Stopping: once every live rank has asked, all are told to stop together, so that none
 * starts MPI_Finalize while another may still die (see sweep_mpi_finalize). */
static void release(coord *c)
{
    for (int i = 1; i < c->size; i++)
        if (c->r[i].state == RANK_ACTIVE && !c->r[i].parked) return;
    msg_answer a = {ANSWER_STOP, 0, 0, "", c->lost > 0};
    for (int i = 1; i < c->size; i++)
        if (c->r[i].state == RANK_ACTIVE) {
            answer(i, &a);
            c->r[i].state = RANK_STOPPED;
        }
}

static void on_beat(coord *c, int src, const msg_lease *b)
{
    rank_info *ri = &c->r[src];
    char ack = 0;
    MPI_Send(&ack, 1, MPI_BYTE, src, TAG_ACK, MPI_COMM_WORLD);
    double now = rk_now();
    /* the store's heartbeat, as often as a forked worker writes it */
    if (b->id && b->id == ri->cur.id && b->attempt == ri->cur.attempt &&
        now - ri->beat_db >= RUN_HEARTBEAT_S) {
        rk_err err = {0};
        rk_store_trial_heartbeat(c->p->db, b->id, b->attempt, &err);
        ri->beat_db = now;
    }
}

static void on_metrics(coord *c, const char *buf, size_t bytes)
{
    msg_lease h;
    if (bytes < sizeof h || (bytes - sizeof h) % sizeof(rk_metric)) return;
    memcpy(&h, buf, sizeof h);
    size_t n = (bytes - sizeof h) / sizeof(rk_metric);
    rk_metric *m = malloc(n * sizeof *m + 1);
    if (!m) return;
    memcpy(m, buf + sizeof h, n * sizeof *m);
    rk_err err = {0};
    rk_store_metrics_add(c->p->db, h.id, h.attempt, m, n, &err); /* refused if the lease is gone */
    free(m);
}

static void on_result(coord *c, int src, const char *buf, size_t bytes)
{
    const sweep_mpi_plan *p = c->p;
    rank_info *ri = &c->r[src];
    msg_result m;
    if (bytes < sizeof m) return;
    memcpy(&m, buf, sizeof m);
    size_t cat_bytes = (size_t)m.ncats * sizeof(rk_category_ap);
    if (m.nart > RK_TRIAL_ARTIFACTS ||
        bytes != sizeof m + cat_bytes + (size_t)m.nart * sizeof(rk_artifact_use))
        return;
    rk_category_ap *cats = calloc((size_t)m.ncats + 1, sizeof *cats);
    rk_artifact_use *arts = calloc((size_t)m.nart + 1, sizeof *arts);
    if (!cats || !arts) {
        free(cats), free(arts);
        return;
    }
    memcpy(cats, buf + sizeof m, cat_bytes);
    memcpy(arts, buf + sizeof m + cat_bytes, (size_t)m.nart * sizeof *arts);
    int mine = m.id == ri->cur.id && m.attempt == ri->cur.attempt;
    char label[128], who[16];
    snprintf(who, sizeof who, "rank %d", src);
    if (mine) sweep_label(label, sizeof label, who, &p->plan->t[ri->k].cfg);
    else snprintf(label, sizeof label, "[%s] trial %lld", who, (long long)m.id);
    rk_err err = {0};
    int rc = m.rc;
    if (!rc) {
        rk_trial_outcome o = {.stats = m.stats, .cats = cats, .ncats = m.ncats,
                              .wall_s = m.wall_s, .cpu_s = m.cpu_s, .images = m.images,
                              .flops = m.flops, .teacher_cpu_s = m.teacher_cpu_s,
                              .pseudo_cpu_s = m.pseudo_cpu_s, .data_hash = m.data_hash,
                              .steps = m.steps, .max_steps = m.max_steps,
                              .stop_reason = *m.stop_reason ? m.stop_reason : NULL,
                              .precision = *m.precision ? m.precision : NULL,
                              .cpu = *m.cpu ? m.cpu : NULL};
        /* as rk_sweep_finish: the artifacts, then the outcome */
        rc = rk_store_trial_artifacts_put(p->db, m.id, m.attempt, arts, m.nart, &err);
        if (!rc) rc = rk_store_trial_finish(p->db, m.id, m.attempt, &o, &err);
        if (!rc && !p->quiet)
            printf("%s: AP %.4f AP50 %.4f (%.0f s)\n", label, m.stats[RK_AP], m.stats[RK_AP50],
                   m.wall_s);
    } else {
        snprintf(err.msg, sizeof err.msg, "%s", m.error);
    }
    if (rc == RK_STORE_LOST) {
        fprintf(stderr, "%s: finished after its lease was lost (presumed dead); discarded\n",
                label);
    } else if (rc) {
        rk_err e2 = {0};
        fprintf(stderr, "%s: trial %lld failed (attempt %d): %s\n", label, (long long)m.id,
                m.attempt, err.msg);
        if (m.rc) rk_store_trial_fail(p->db, m.id, m.attempt, m.rc, err.msg, 1, &e2);
        else fatal(c, &err); /* the store refused a finish: stop */
        /* interrupted (a full disk, no memory): pending again uncharged, and the rank gets
         * no more work rather than meet the same wall again */
        if (m.rc && rk_rc_interrupted(m.rc)) {
            fprintf(stderr, "%s: interrupted, not counted against the trial; rank %d stops\n",
                    label, src);
            ri->retired = 1;
        }
    }
    fflush(stdout);
    if (mine) ri->cur = (msg_lease){0, 0};
    free(cats), free(arts);
}

/* A rank silent for timeout_s: its trial goes back to pending (another rank takes it). */
static void presume_dead(coord *c, int src, double silent)
{
    rank_info *ri = &c->r[src];
    char why[256];
    snprintf(why, sizeof why, "rank %d (%s) sent nothing for %.0f s: presumed dead", src,
             ri->name[0] ? ri->name : "never asked for work", silent);
    ri->state = RANK_LOST;
    c->lost++;
    if (!ri->cur.id) {
        fprintf(stderr, "rethink sweep: %s\n", why);
        return;
    }
    fprintf(stderr, "rethink sweep: %s; its trial %lld (attempt %d) goes back to pending\n",
            why, (long long)ri->cur.id, ri->cur.attempt);
    rk_err err = {0};
    int rc = rk_store_trial_fail(c->p->db, ri->cur.id, ri->cur.attempt, RK_EINTERRUPTED, why, 1,
                                 &err);
    if (rc && rc != RK_STORE_LOST) fatal(c, &err);
    ri->cur = (msg_lease){0, 0};
}

static void receive(coord *c, const MPI_Status *st)
{
    int src = st->MPI_SOURCE, bytes = 0;
    MPI_Get_count(st, MPI_BYTE, &bytes);
    char *buf = malloc((size_t)bytes + 1);
    if (!buf || MPI_Recv(buf, bytes, MPI_BYTE, src, st->MPI_TAG, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE) != MPI_SUCCESS || src < 1 || src >= c->size) {
        free(buf);
        return;
    }
    c->r[src].heard = rk_now();
    switch (st->MPI_TAG) {
    case TAG_ASK:
        if ((size_t)bytes == sizeof(msg_ask)) on_ask(c, src, (const msg_ask *)buf);
        break;
    case TAG_BEAT:
        if ((size_t)bytes == sizeof(msg_lease)) on_beat(c, src, (const msg_lease *)buf);
        break;
    case TAG_METRICS: on_metrics(c, buf, (size_t)bytes); break;
    case TAG_RESULT: on_result(c, src, buf, (size_t)bytes); break;
    default: break;
    }
    free(buf);
}

int sweep_mpi_coordinate(const sweep_mpi_plan *p, size_t *lost, rk_err *err)
{
    coord c = {.p = p, .stopping = !p->db, .data_done = 1};
    MPI_Comm_size(MPI_COMM_WORLD, &c.size);
    c.r = calloc((size_t)c.size, sizeof *c.r);
    if (!c.r) return rk_errf(err, RK_ENOMEM, "out of memory");
    double t0 = rk_now();
    for (int i = 1; i < c.size; i++) c.r[i].heard = t0;
    pthread_t th;
    int have_data_thread = 0;
    if (!c.stopping && p->data) {
        c.data_done = 0;
        have_data_thread = pthread_create(&th, NULL, data_main, &c) == 0;
        if (!have_data_thread) {
            data_main(&c);
            if (c.data_rc) fatal(&c, &c.data_err);
        }
    }
    for (;;) {
        int flag = 0, any = 0;
        MPI_Status st;
        while (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) ==
                   MPI_SUCCESS && flag) {
            receive(&c, &st);
            any = 1;
        }
        if (have_data_thread && atomic_load(&c.data_done)) {
            pthread_join(th, NULL);
            have_data_thread = 0;
            if (c.data_rc) fatal(&c, &c.data_err);
        }
        double now = rk_now();
        for (int i = 1; i < c.size; i++)
            if (c.r[i].state == RANK_ACTIVE && now - c.r[i].heard > p->timeout_s)
                presume_dead(&c, i, now - c.r[i].heard);
        if (c.stopping) release(&c);
        int active = 0;
        for (int i = 1; i < c.size; i++) active += c.r[i].state == RANK_ACTIVE;
        if (!active) break; /* every rank was told to stop or is presumed dead */
        if (!any) usleep(POLL_US);
    }
    if (have_data_thread) pthread_join(th, NULL);
    free(c.r);
    *lost = c.lost;
    if (c.rc) *err = c.err;
    return c.rc;
}
