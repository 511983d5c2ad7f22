/* The double instance of the reference layers (see layers_impl.h), used by the
 * finite-difference gradient tests to check the backward formulas in double precision. */
#include <cblas.h>
#include <math.h>

#include "layers_f64.h"

#define T double
#define FN(x) x##_f64
#define GEMM cblas_dgemm
#define MATH(fn) fn
#include "layers_impl.h"
