/*
 * sym_lib.c - a library for the symbol tests (symbols.sh): one exported
 * function, and the static one it calls, which a stripped copy keeps no
 * name for.
 */
#include <pthread.h>

static pthread_mutex_t lib_m = PTHREAD_MUTEX_INITIALIZER;
static long lib_count;

__attribute__((noinline)) static void lib_static_worker(int i)
{
    pthread_mutex_lock(&lib_m);
    lib_count += 1 + (i & 0);
    pthread_mutex_unlock(&lib_m);
    __asm__ volatile("" ::: "memory");
}

__attribute__((visibility("default"))) long lib_entry(int n)
{
    for (int i = 0; i < n; i++)
        lib_static_worker(i);
    __asm__ volatile("" ::: "memory");
    return lib_count;
}
