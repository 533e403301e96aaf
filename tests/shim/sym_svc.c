/*
 * sym_svc.c - a small service for the symbol tests (symbols.sh), built
 * -O2 -g whatever the build type, as services ship:
 *
 *   sym_svc bank N        N requests; each calls transfer(), a static
 *                         inline function the compiler copies into
 *                         handle_request (symbols.sh checks with nm that
 *                         it has no symbol of its own), which takes the
 *                         bank's mutex
 *   sym_svc bank-wait N   as bank, then "ready" and wait for a signal
 *   sym_svc lib PATH N    dlopen PATH (a build of sym_lib.c, stripped or
 *                         not) and call its lib_entry(N): a static
 *                         function in it takes a mutex N times
 *
 * Prints "sym_svc: ok" when the money adds up / the library ran.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t bank_m = PTHREAD_MUTEX_INITIALIZER;
static long accounts[2] = {1000, 1000};

static inline void transfer(int from, int to, long amount)
{
    pthread_mutex_lock(&bank_m);
    accounts[from] -= amount;
    accounts[to] += amount;
    pthread_mutex_unlock(&bank_m);
}

__attribute__((noinline)) void handle_request(int i)
{
    transfer(i % 2, (i + 1) % 2, 10 + i % 3);
    __asm__ volatile("" ::: "memory"); /* keep this frame: no tail call */
}

int main(int argc, char **argv)
{
    if (argc == 3 && (!strcmp(argv[1], "bank") || !strcmp(argv[1], "bank-wait"))) {
        for (int i = 0; i < atoi(argv[2]); i++)
            handle_request(i);
        if (accounts[0] + accounts[1] != 2000)
            return 1;
        if (!strcmp(argv[1], "bank-wait")) {
            printf("ready\n");
            fflush(stdout);
            pause(); /* until SIGTERM ends the process */
        }
    } else if (argc == 4 && !strcmp(argv[1], "lib")) {
        void *h = dlopen(argv[2], RTLD_NOW);
        long (*entry)(int) = h ? (long (*)(int))dlsym(h, "lib_entry") : NULL;
        if (!entry || entry(atoi(argv[3])) != atoi(argv[3])) {
            fprintf(stderr, "sym_svc: %s\n", h ? "lib_entry failed" : dlerror());
            return 1;
        }
    } else {
        fprintf(stderr, "usage: sym_svc bank N | lib PATH N\n");
        return 2;
    }
    printf("sym_svc: ok\n");
    return 0;
}
