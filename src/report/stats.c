/* Statistics over seeds: summaries with Student-t confidence intervals, seed-keyed values
 * for paired differences, and what the claims checker tests with them (p-values against a
 * claimed region, Holm's step-down adjustment, the minimal detectable effect).
 *
 * The t quantile and distribution come from GSL (gsl_cdf_tdist_Pinv, gsl_cdf_tdist_P). GSL's default error handler aborts on
 * a domain error, so every call is guarded here rather than by switching the handler off,
 * which would change a process-wide setting behind the caller's back. */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/report.h"

double rk_t_quantile(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0) || !isfinite(df)) return NAN;
    return gsl_cdf_tdist_Pinv(p, df);
}

double rk_t_cdf(double x, double df)
{
    if (isnan(x) || !(df > 0) || !isfinite(df)) return NAN;
    if (isinf(x)) return x > 0 ? 1 : 0;
    return gsl_cdf_tdist_P(x, df);
}

double rk_mde(const rk_summary *s, double alpha, double power)
{
    if (s->n < 2 || !isfinite(s->std)) return NAN;
    double df = (double)(s->n - 1);
    double ta = rk_t_quantile(1 - alpha / 2, df), tb = rk_t_quantile(power, df);
    if (!isfinite(ta) || !isfinite(tb)) return NAN;
    return (ta + tb) * s->std / sqrt((double)s->n);
}

/* 2 P(T <= z) capped at 1, for z = distance / se; se = 0 makes z ±inf (or 0/0: inside) */
static double two_sided_below(double dist, double se, double df)
{
    if (se == 0) return dist < 0 ? 0 : 1;
    double p = 2 * rk_t_cdf(dist / se, df);
    return p < 1 ? p : 1;
}

double rk_region_p(const rk_summary *s, double lo, double hi)
{
    if (s->n < 2 || !isfinite(s->std) || !isfinite(s->mean)) return NAN;
    double df = (double)(s->n - 1), se = s->std / sqrt((double)s->n), p = 1;
    if (!isnan(lo)) p = fmin(p, two_sided_below(s->mean - lo, se, df));
    if (!isnan(hi)) p = fmin(p, two_sided_below(hi - s->mean, se, df));
    return p;
}

void rk_holm_adjust(const double *p, size_t n, double *adj)
{
    /* selection order by p, NANs last; n is a claim's units (tens), so a simple O(n^2)
     * pass keeps the ties in input order and needs no allocation */
    double run = 0;
    for (size_t i = 0; i < n; i++) adj[i] = NAN;
    char *done = calloc(n + 1, 1);
    if (!done) { /* no memory: Bonferroni's bound, which Holm's never exceeds */
        for (size_t i = 0; i < n; i++) adj[i] = isnan(p[i]) ? NAN : fmin(1, (double)n * p[i]);
        return;
    }
    for (size_t rank = 0; rank < n; rank++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (!done[i] && !isnan(p[i]) && (best == n || p[i] < p[best])) best = i;
        if (best == n) break; /* only NANs left */
        done[best] = 1;
        run = fmax(run, fmin(1, (double)(n - rank) * p[best]));
        adj[best] = run;
    }
    free(done);
}

void rk_summarize(const double *x, size_t n, double confidence, rk_summary *s)
{
    size_t k = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) sum += x[i], k++;
    s->n = k;
    s->mean = k ? sum / (double)k : NAN;
    s->std = s->ci_low = s->ci_high = NAN;
    if (k < 2) return;
    /* two-pass variance: the values are close together (AP of one cell), so the one-pass
     * formula would cancel catastrophically */
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) ss += (x[i] - s->mean) * (x[i] - s->mean);
    s->std = sqrt(ss / (double)(k - 1));
    double t = rk_t_quantile(0.5 + 0.5 * confidence, (double)(k - 1));
    if (!isfinite(t)) return;
    double hw = t * s->std / sqrt((double)k);
    s->ci_low = s->mean - hw;
    s->ci_high = s->mean + hw;
}

int rk_stat_index(const char *name)
{
    for (int i = 0; name && i < RK_COCO_NSTATS; i++)
        if (!strcmp(name, rk_coco_stat_name(i)) || !strcmp(name, rk_coco_stat_column(i)))
            return i; /* APs, or AP_s as views and exports name it */
    return -1;
}

void rk_seeded_free(rk_seeded *s)
{
    if (!s) return;
    free(s->seed);
    free(s->v);
    memset(s, 0, sizeof *s);
}

int rk_seeded_diff(const rk_seeded *a, const rk_seeded *b, rk_seeded *out, rk_err *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = a->n < b->n ? a->n : b->n;
    out->seed = malloc((cap + 1) * sizeof *out->seed);
    out->v = malloc((cap + 1) * sizeof *out->v);
    if (!out->seed || !out->v) {
        rk_seeded_free(out);
        return rk_errf(err, RK_ENOMEM, "out of memory");
    }
    /* both sorted by seed: a merge walk */
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        if (a->seed[i] < b->seed[j]) {
            i++;
        } else if (a->seed[i] > b->seed[j]) {
            j++;
        } else {
            out->seed[out->n] = a->seed[i];
            out->v[out->n++] = a->v[i] - b->v[j];
            i++, j++;
        }
    }
    return RK_OK;
}
