/*
 * shim_stubs.c - TEST ONLY.  The few symbols that hooks.c defines in
 * libwedge.so, so that the unit tests can link the decision
 * core (rules, decide, match, caller, coord, trace) without the
 * interposition layer.  Tests set these variables directly.
 */
#include "wedge_shim.h"

__thread int wg_in_shim __attribute__((tls_model("initial-exec")));
uint64_t wg_seed;
char wg_proc_name[64] = "unit-test";
_Atomic int wg_armed[WG_HOOK_COUNT];

/* Tests choose the thread number a hook sees. */
__thread int stub_thread_index = 1;

int wg_thread_index(void)
{
    return stub_thread_index;
}
