/* run.c - placeholder until the orchestration lands. */
#include "run.h"
#include <stdio.h>
int run_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "wedge: run: not yet\n");
    return 2;
}
int check_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    return 2;
}
