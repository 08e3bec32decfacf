/* cli: the command line (DESIGN.md's contract) and the only place that
 * decides exit codes: 0 all done, 1 a node failed, 2 the pipeline, a
 * config or the command line is wrong, 3 an internal or environment
 * error, 128+N interrupted by signal N. */
#ifndef DAGRUN_CLI_H
#define DAGRUN_CLI_H

#define DAGRUN_VERSION "0.1.0"

int cli_main(int argc, char **argv);

#endif
