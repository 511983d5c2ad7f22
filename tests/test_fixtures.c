#include <check.h>
Suite *suite_fixtures(void) { Suite *s = suite_create("fixtures"); return s; }
