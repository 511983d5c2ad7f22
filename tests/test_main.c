/* Test runner: every suite of the library, one binary (meson test runs it). */
#include <check.h>
#include <stdlib.h>

Suite *suite_layers(void);
Suite *suite_net(void);
Suite *suite_fixtures(void);
Suite *suite_data(void);
Suite *suite_model(void);
Suite *suite_augment(void);
Suite *suite_eval(void);
Suite *suite_arms(void);
Suite *suite_store(void);
Suite *suite_config(void);
Suite *suite_report(void);
Suite *suite_protocol(void);
Suite *suite_sweep(void);
Suite *suite_artifacts(void);
Suite *suite_import(void);
Suite *suite_segment(void);

int main(void)
{
    SRunner *sr = srunner_create(suite_layers());
    srunner_add_suite(sr, suite_net());
    srunner_add_suite(sr, suite_fixtures());
    srunner_add_suite(sr, suite_data());
    srunner_add_suite(sr, suite_model());
    srunner_add_suite(sr, suite_augment());
    srunner_add_suite(sr, suite_eval());
    srunner_add_suite(sr, suite_arms());
    srunner_add_suite(sr, suite_store());
    srunner_add_suite(sr, suite_config());
    srunner_add_suite(sr, suite_report());
    srunner_add_suite(sr, suite_protocol());
    srunner_add_suite(sr, suite_sweep());
    srunner_add_suite(sr, suite_artifacts());
    srunner_add_suite(sr, suite_import());
    srunner_add_suite(sr, suite_segment());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
