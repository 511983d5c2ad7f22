/* Command-line helpers shared by the subcommands (the only code that prints and exits). */
#ifndef RETHINK_CLI_H
#define RETHINK_CLI_H

int cmd_bench(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_augment(int argc, char **argv);

/* Parses a positive int option value; prints an error naming the option and returns -1. */
int cli_int(const char *opt, const char *val, int lo, int hi, int *out);
/* A finite number. */
int cli_double(const char *opt, const char *val, double *out);
/* "A,B" with A <= B. */
int cli_pair(const char *opt, const char *val, double *lo, double *hi);

#endif
