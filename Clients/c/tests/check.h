/* Minimal test macros: a failed check prints where and exits non-zero. */
#ifndef WL_CHECK_H
#define WL_CHECK_H
#include <stdio.h>
#include <stdlib.h>
static int checks;
#define CHECK(cond) do { checks++; if (!(cond)) { \
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); checks++; if (_a != _b) { \
    fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, _a, #b, _b); exit(1); } } while (0)
#define DONE(name) do { printf("%s: %d checks passed\n", name, checks); return 0; } while (0)
#endif
