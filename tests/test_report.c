#include <check.h>
Suite *suite_report(void);
Suite *suite_report(void) { return suite_create("report"); }
