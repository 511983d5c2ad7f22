/* Command-line helpers shared by the subcommands (the only code that prints and exits). */
#ifndef RETHINK_CLI_H
#define RETHINK_CLI_H

int cmd_bench(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* Parses a positive int option value; prints an error naming the option and returns -1. */
int cli_int(const char *opt, const char *val, int lo, int hi, int *out);

#endif
