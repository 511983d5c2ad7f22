#include <check.h>
Suite *suite_net(void) { Suite *s = suite_create("net"); return s; }
